// The optional `replication` section: this region's name and first role, the link's token, the
// endpoint the counterpart's sender reaches, and the counterpart region's endpoints. Checked like
// the rest of the config, every bad field named.
import { isAbsolute, resolve } from 'node:path';
import { field, integer, joinPath, mapping, matching, oneOf, required, text, type Issue, type Mapping } from './validate.js';
import type { ListenerConfig } from './schema.js';

export const REGION_ROLES = ['primary', 'replica'] as const;
export type RegionRole = (typeof REGION_ROLES)[number];

export interface ReplicationConfig {
  /** This region's name. */
  region: string;
  /** The role a data directory without region state starts in. */
  initialRole: RegionRole;
  /** The shared secret of the link; read from `tokenFile` when that is given. */
  token: string;
  /** Absolute; the file the token was read from, if any. */
  tokenFile?: string;
  /** This broker's replication endpoint, open while it is active. */
  listen: ListenerConfig;
  /** PEM files (absolute): the endpoint then speaks wss. */
  tls?: { cert: string; key: string };
  /** PEM file (absolute): trust for wss links to the counterpart. */
  ca?: string;
  counterpart: {
    region: string;
    /** The counterpart brokers' replication endpoints (ws:// or wss://), tried in turn. */
    links: string[];
    /** The counterpart region's client endpoints, named in a replica's ERROR frame. */
    clients: string[];
  };
  /** How often the sender reports lag to the receiver (ms). */
  lagReportIntervalMs: number;
}

const REPLICATION_KEYS = ['region', 'initialRole', 'token', 'tokenFile', 'listen', 'tls', 'ca', 'counterpart', 'lagReportIntervalMs'] as const;
const regionName = matching((v) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v), 'a region name of letters, digits, ".", "_" and "-"');
const host = matching((v) => v.length > 0 && !/\s/.test(v), 'a host name or IP address');
const linkUrl = /^wss?:\/\/[^/\s]+(\/\S*)?$/;
const clientUrl = /^(stomp|stomp\+ssl|ws|wss):\/\/[^/\s]+(\/\S*)?$/;

function urlList(m: Mapping, key: string, path: string, pattern: RegExp, expected: string, issues: Issue[]): string[] {
  const p = joinPath(path, key);
  const value = m[key];
  if (value === undefined || value === null) {
    issues.push({ path: p, message: 'is required' });
    return [];
  }
  if (!Array.isArray(value) || value.length === 0) {
    issues.push({ path: p, message: `must be a non-empty list of ${expected}` });
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, i) => {
    if (typeof item === 'string' && pattern.test(item)) out.push(item);
    else issues.push({ path: joinPath(p, i), message: `must be ${expected}` });
  });
  return out;
}

/** Undefined when the section is absent; `token` stays '' when `tokenFile` is given (load.ts reads it). */
export function replication(raw: unknown, baseDir: string, issues: Issue[]): ReplicationConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const p = 'replication';
  const m = mapping(raw, p, REPLICATION_KEYS, issues);
  const path = (v: string): string => (isAbsolute(v) ? v : resolve(baseDir, v));
  const region = required(m, 'region', p, regionName, issues) ?? '';
  const token = field<string | undefined>(m, 'token', p, text, undefined, issues);
  const tokenFile = field<string | undefined>(m, 'tokenFile', p, text, undefined, issues);
  if (token !== undefined && tokenFile !== undefined) issues.push({ path: joinPath(p, 'token'), message: 'give token or tokenFile, not both' });
  if (m['token'] === undefined && m['tokenFile'] === undefined) issues.push({ path: joinPath(p, 'token'), message: 'is required (or tokenFile)' });

  const lp = joinPath(p, 'listen');
  const lm = mapping(m['listen'], lp, ['host', 'port'], issues);
  const listen = { host: field(lm, 'host', lp, host, '127.0.0.1', issues), port: field(lm, 'port', lp, integer(0, 65535), 61617, issues) };

  let tls: ReplicationConfig['tls'];
  if (m['tls'] !== undefined && m['tls'] !== null) {
    const tp = joinPath(p, 'tls');
    const tm = mapping(m['tls'], tp, ['cert', 'key'], issues);
    const cert = required(tm, 'cert', tp, text, issues);
    const key = required(tm, 'key', tp, text, issues);
    if (cert !== undefined && key !== undefined) tls = { cert: path(cert), key: path(key) };
  }
  const ca = field<string | undefined>(m, 'ca', p, text, undefined, issues);

  const cp = joinPath(p, 'counterpart');
  if (m['counterpart'] === undefined || m['counterpart'] === null) issues.push({ path: cp, message: 'is required' });
  const cm = mapping(m['counterpart'], cp, ['region', 'links', 'clients'], issues);
  const counterpartRegion = m['counterpart'] === undefined ? '' : (required(cm, 'region', cp, regionName, issues) ?? '');
  if (counterpartRegion !== '' && counterpartRegion === region) {
    issues.push({ path: joinPath(cp, 'region'), message: `must differ from replication.region (${region})` });
  }
  const links = m['counterpart'] === undefined ? [] : urlList(cm, 'links', cp, linkUrl, 'a ws:// or wss:// URL', issues);
  const clients = m['counterpart'] === undefined ? [] : urlList(cm, 'clients', cp, clientUrl, 'a stomp://, stomp+ssl://, ws:// or wss:// URL', issues);

  // Required: a replica region started with a default of primary would serve beside the real one.
  const initialRole = required(m, 'initialRole', p, oneOf(REGION_ROLES), issues) ?? 'replica';
  const config: ReplicationConfig = {
    region,
    initialRole,
    token: token ?? '',
    listen,
    counterpart: { region: counterpartRegion, links, clients },
    lagReportIntervalMs: field(m, 'lagReportIntervalMs', p, integer(10, 60_000), 250, issues),
  };
  if (tokenFile !== undefined) config.tokenFile = path(tokenFile);
  if (tls !== undefined) config.tls = tls;
  if (ca !== undefined) config.ca = path(ca);
  return config;
}
