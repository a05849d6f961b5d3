// The replicator's and the receiver's configuration files (YAML or JSON), checked field by field.
// Relative paths resolve against the file's folder; a problem names the field and the file.
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ReplicationError } from './errors.js';
import type { LinkTlsOptions } from './outbound-link.js';
import type { ReceiverTlsOptions } from './receiver.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface AdminSettings {
  host: string;
  port: number;
}

interface Common {
  /** The file the settings came from. */
  file: string;
  dataDir: string;
  token: string;
  name?: string;
  admin?: AdminSettings;
  logLevel: string;
}

export interface ReplicatorConfig extends Common {
  url: string;
  tls?: LinkTlsOptions;
  pollIntervalMs?: number;
  maxBatchBytes?: number;
  windowBytes?: number;
  idleTimeoutMs?: number;
  reconnect?: { initialMs?: number; maxMs?: number };
}

export interface ReceiverConfig extends Common {
  host: string;
  port: number;
  path: string;
  tls?: ReceiverTlsOptions;
  idleTimeoutMs?: number;
  primaryEndpoints: string[];
  /** false runs without the directory lock (for a directory another process guards). */
  lock: boolean;
}

type Raw = Record<string, unknown>;

/** Reads fields off plain data, collecting every problem with its path. */
class Fields {
  readonly issues: string[] = [];
  constructor(readonly baseDir: string) {}

  object(value: unknown, path: string, required: boolean): Raw | undefined {
    if (value === undefined && !required) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.issues.push(`${path} must be a mapping`);
      return undefined;
    }
    return value as Raw;
  }
  known(raw: Raw, path: string, names: string[]): void {
    for (const key of Object.keys(raw)) if (!names.includes(key)) this.issues.push(`${path ? `${path}.` : ''}${key} is not a known field`);
  }
  text(raw: Raw, key: string, path: string, required = false): string | undefined {
    const value = raw[key];
    if (value === undefined) {
      if (required) this.issues.push(`${path}${key} is required`);
      return undefined;
    }
    if (typeof value !== 'string' || value === '') {
      this.issues.push(`${path}${key} must be a non-empty string`);
      return undefined;
    }
    return value;
  }
  int(raw: Raw, key: string, path: string, min: number, max: number): number | undefined {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.issues.push(`${path}${key} must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return value;
  }
  bool(raw: Raw, key: string, path: string): boolean | undefined {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      this.issues.push(`${path}${key} must be true or false`);
      return undefined;
    }
    return value;
  }
  path(raw: Raw, key: string, path: string, required = false): string | undefined {
    const value = this.text(raw, key, path, required);
    return value === undefined ? undefined : resolve(this.baseDir, value);
  }
}

async function readRaw(file: string): Promise<{ raw: Raw; baseDir: string }> {
  const ext = extname(file).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new ReplicationError('TANDEM_ERR_REPLICATION_CONFIG', `cannot use ${file}: a config file must end in .yaml, .yml or .json`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ReplicationError('TANDEM_ERR_REPLICATION_CONFIG', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (cause) {
    throw new ReplicationError('TANDEM_ERR_REPLICATION_CONFIG', `cannot parse ${file}: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReplicationError('TANDEM_ERR_REPLICATION_CONFIG', `${file} must hold a mapping of settings`);
  }
  return { raw: value as Raw, baseDir: dirname(file) };
}

/** Fields both roles share: dataDir, name, admin, log, and the token (given or in a file). */
async function common(f: Fields, raw: Raw, link: Raw | undefined, file: string): Promise<Omit<Common, 'token'> & { token: string | undefined }> {
  const dataDir = f.path(raw, 'dataDir', '', true) ?? '';
  const name = f.text(raw, 'name', '');
  const adminRaw = f.object(raw['admin'], 'admin', false);
  let admin: AdminSettings | undefined;
  if (adminRaw !== undefined) {
    f.known(adminRaw, 'admin', ['host', 'port']);
    admin = { host: f.text(adminRaw, 'host', 'admin.') ?? '127.0.0.1', port: f.int(adminRaw, 'port', 'admin.', 0, 65535) ?? 0 };
  }
  const logRaw = f.object(raw['log'], 'log', false);
  let logLevel = 'info';
  if (logRaw !== undefined) {
    f.known(logRaw, 'log', ['level']);
    const level = f.text(logRaw, 'level', 'log.');
    if (level !== undefined && !LOG_LEVELS.includes(level)) f.issues.push(`log.level must be one of ${LOG_LEVELS.join(', ')}`);
    else if (level !== undefined) logLevel = level;
  }
  let token: string | undefined;
  if (link !== undefined) {
    token = f.text(link, 'token', 'link.');
    const tokenFile = f.path(link, 'tokenFile', 'link.');
    if (token !== undefined && tokenFile !== undefined) f.issues.push('link.token and link.tokenFile cannot both be set');
    if (tokenFile !== undefined) {
      try {
        token = (await readFile(tokenFile, 'utf8')).trim();
        if (token === '') f.issues.push(`link.tokenFile ${tokenFile} is empty`);
      } catch (cause) {
        f.issues.push(`link.tokenFile cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`);
      }
    }
    if (token === undefined && tokenFile === undefined) f.issues.push('link.token (or link.tokenFile) is required');
  }
  return { file, dataDir, token, logLevel, ...(name === undefined ? {} : { name }), ...(admin === undefined ? {} : { admin }) };
}

async function pem(f: Fields, raw: Raw, key: string, path: string): Promise<Buffer | undefined> {
  const file = f.path(raw, key, path);
  if (file === undefined) return undefined;
  try {
    return await readFile(file);
  } catch (cause) {
    f.issues.push(`${path}${key} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`);
    return undefined;
  }
}

function fail(f: Fields, file: string): void {
  if (f.issues.length > 0) throw new ReplicationError('TANDEM_ERR_REPLICATION_CONFIG', `invalid configuration in ${file}: ${f.issues.join('; ')}`);
}

export async function loadReplicatorConfig(file: string): Promise<ReplicatorConfig> {
  const path = resolve(file);
  const { raw, baseDir } = await readRaw(path);
  const f = new Fields(baseDir);
  f.known(raw, '', ['dataDir', 'name', 'link', 'admin', 'log']);
  const link = f.object(raw['link'], 'link', true);
  const base = await common(f, raw, link ?? {}, path);
  const config: ReplicatorConfig = { ...base, token: base.token ?? '', url: '' };
  if (link !== undefined) {
    f.known(link, 'link', ['url', 'token', 'tokenFile', 'tls', 'pollIntervalMs', 'maxBatchBytes', 'windowBytes', 'idleTimeoutMs', 'reconnect']);
    const url = f.text(link, 'url', 'link.', true);
    if (url !== undefined && !/^wss?:\/\/[^/]+/.test(url)) f.issues.push('link.url must be a ws:// or wss:// URL');
    config.url = url ?? '';
    const tlsRaw = f.object(link['tls'], 'link.tls', false);
    if (tlsRaw !== undefined) {
      f.known(tlsRaw, 'link.tls', ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized']);
      const tls: LinkTlsOptions = {};
      const ca = await pem(f, tlsRaw, 'ca', 'link.tls.');
      const cert = await pem(f, tlsRaw, 'cert', 'link.tls.');
      const key = await pem(f, tlsRaw, 'key', 'link.tls.');
      const servername = f.text(tlsRaw, 'servername', 'link.tls.');
      const reject = f.bool(tlsRaw, 'rejectUnauthorized', 'link.tls.');
      if (ca !== undefined) tls.ca = ca;
      if (cert !== undefined) tls.cert = cert;
      if (key !== undefined) tls.key = key;
      if (servername !== undefined) tls.servername = servername;
      if (reject !== undefined) tls.rejectUnauthorized = reject;
      config.tls = tls;
      if (url !== undefined && url.startsWith('ws://')) f.issues.push('link.tls is set but link.url is ws://; use wss://');
    }
    const set = <K extends keyof ReplicatorConfig>(k: K, v: ReplicatorConfig[K] | undefined): void => {
      if (v !== undefined) config[k] = v;
    };
    set('pollIntervalMs', f.int(link, 'pollIntervalMs', 'link.', 1, 10_000));
    set('maxBatchBytes', f.int(link, 'maxBatchBytes', 'link.', 4096, 64 * 1024 * 1024));
    set('windowBytes', f.int(link, 'windowBytes', 'link.', 4096, 1024 * 1024 * 1024));
    set('idleTimeoutMs', f.int(link, 'idleTimeoutMs', 'link.', 1000, 600_000));
    const reconnect = f.object(link['reconnect'], 'link.reconnect', false);
    if (reconnect !== undefined) {
      f.known(reconnect, 'link.reconnect', ['initialMs', 'maxMs']);
      const initialMs = f.int(reconnect, 'initialMs', 'link.reconnect.', 1, 600_000);
      const maxMs = f.int(reconnect, 'maxMs', 'link.reconnect.', 1, 600_000);
      config.reconnect = { ...(initialMs === undefined ? {} : { initialMs }), ...(maxMs === undefined ? {} : { maxMs }) };
    }
  }
  fail(f, path);
  return config;
}

export async function loadReceiverConfig(file: string): Promise<ReceiverConfig> {
  const path = resolve(file);
  const { raw, baseDir } = await readRaw(path);
  const f = new Fields(baseDir);
  f.known(raw, '', ['dataDir', 'name', 'link', 'admin', 'log', 'primaryEndpoints', 'lock']);
  const link = f.object(raw['link'], 'link', true);
  const base = await common(f, raw, link ?? {}, path);
  const config: ReceiverConfig = {
    ...base,
    token: base.token ?? '',
    host: '127.0.0.1',
    port: 0,
    path: '/replication',
    primaryEndpoints: [],
    lock: f.bool(raw, 'lock', '') ?? true,
  };
  if (link !== undefined) {
    f.known(link, 'link', ['host', 'port', 'path', 'token', 'tokenFile', 'tls', 'idleTimeoutMs']);
    config.host = f.text(link, 'host', 'link.') ?? config.host;
    config.port = f.int(link, 'port', 'link.', 0, 65535) ?? config.port;
    const urlPath = f.text(link, 'path', 'link.');
    if (urlPath !== undefined && !urlPath.startsWith('/')) f.issues.push('link.path must start with /');
    config.path = urlPath ?? config.path;
    const idle = f.int(link, 'idleTimeoutMs', 'link.', 1000, 600_000);
    if (idle !== undefined) config.idleTimeoutMs = idle;
    const tlsRaw = f.object(link['tls'], 'link.tls', false);
    if (tlsRaw !== undefined) {
      f.known(tlsRaw, 'link.tls', ['cert', 'key', 'ca', 'requestCert']);
      const cert = await pem(f, tlsRaw, 'cert', 'link.tls.');
      const key = await pem(f, tlsRaw, 'key', 'link.tls.');
      if (tlsRaw['cert'] === undefined) f.issues.push('link.tls.cert is required');
      if (tlsRaw['key'] === undefined) f.issues.push('link.tls.key is required');
      const ca = await pem(f, tlsRaw, 'ca', 'link.tls.');
      const requestCert = f.bool(tlsRaw, 'requestCert', 'link.tls.');
      if (cert !== undefined && key !== undefined) {
        config.tls = { cert, key, ...(ca === undefined ? {} : { ca }), ...(requestCert === undefined ? {} : { requestCert }) };
      }
    }
  }
  const endpoints = raw['primaryEndpoints'];
  if (endpoints !== undefined) {
    if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== 'string' || e === '')) {
      f.issues.push('primaryEndpoints must be a list of non-empty strings');
    } else {
      config.primaryEndpoints = endpoints as string[];
    }
  }
  fail(f, path);
  return config;
}
