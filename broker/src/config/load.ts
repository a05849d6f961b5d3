// Loads the configuration: the embedded defaults, then a YAML or JSON file (chosen by extension),
// then command-line flags. Any problem is a BrokerError that names the field and where it came from.
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { BrokerError } from '../errors.js';
import { LOG_LEVELS, STORAGE_MODES, validateConfig, type BrokerConfig } from './schema.js';
import { oneOf, text, type Check, type Issue } from './validate.js';

/** Settings given on the command line; they win over the file. */
export interface ConfigFlags {
  dataDir?: string;
  mode?: string;
  logLevel?: string;
  repair?: boolean;
}

export interface LoadConfigOptions {
  /** The config file; absent runs on the embedded defaults. */
  file?: string;
  flags?: ConfigFlags;
  /** Where relative flag paths (and the defaults, without a file) resolve; default process.cwd(). */
  cwd?: string;
  /** Injected for tests; default node:fs readFile as UTF-8. */
  readText?: (path: string) => Promise<string>;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<BrokerConfig> {
  const cwd = options.cwd ?? process.cwd();
  let raw: unknown = {};
  let baseDir = cwd;
  let where = 'the embedded defaults';
  if (options.file !== undefined) {
    const file = resolve(cwd, options.file);
    raw = await readConfigFile(file, options.readText ?? ((p) => readFile(p, 'utf8')));
    baseDir = dirname(file);
    where = file;
  }
  const { config, issues } = validateConfig(raw, baseDir);
  if (issues.length === 0) await readTokenFile(config, options.readText ?? ((p) => readFile(p, 'utf8')), issues);
  if (issues.length > 0) throw invalid(issues, `in ${where}`);
  applyFlags(config, options.flags ?? {}, cwd);
  return config;
}

/** Reads and parses a file into plain data; the schema is checked later. */
export async function readConfigFile(file: string, readText: (path: string) => Promise<string>): Promise<unknown> {
  const ext = extname(file).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new BrokerError(
      'TANDEM_ERR_CONFIG_UNREADABLE',
      `cannot use ${file}: a config file must end in .yaml, .yml or .json`,
    );
  }
  let source: string;
  try {
    source = await readText(file);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new BrokerError('TANDEM_ERR_CONFIG_UNREADABLE', `cannot read ${file}: ${reason}`, { cause });
  }
  return ext === '.json' ? parseJson(file, source) : parseYaml(file, source);
}

function parseJson(file: string, source: string): unknown {
  if (source.trim() === '') return {};
  try {
    return JSON.parse(source) as unknown;
  } catch (cause) {
    throw new BrokerError('TANDEM_ERR_CONFIG_UNREADABLE', `cannot parse ${file}: ${(cause as Error).message}`, { cause });
  }
}

function parseYaml(file: string, source: string): unknown {
  const doc = parseDocument(source, { prettyErrors: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0].line;
    const at = line === undefined ? '' : ` (line ${line})`;
    const reason = first.message.split('\n')[0] ?? first.code;
    throw new BrokerError('TANDEM_ERR_CONFIG_UNREADABLE', `cannot parse ${file}${at}: ${reason}`, { cause: first });
  }
  return doc.toJS() ?? {};
}

/** replication.tokenFile: the token is the file's text, trimmed; an empty or unreadable file is named. */
async function readTokenFile(config: BrokerConfig, readText: (path: string) => Promise<string>, issues: Issue[]): Promise<void> {
  const file = config.replication?.tokenFile;
  if (config.replication === undefined || file === undefined) return;
  try {
    config.replication.token = (await readText(file)).trim();
    if (config.replication.token === '') issues.push({ path: 'replication.tokenFile', message: `${file} is empty` });
  } catch (cause) {
    issues.push({ path: 'replication.tokenFile', message: `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}` });
  }
}

function applyFlags(config: BrokerConfig, flags: ConfigFlags, cwd: string): void {
  const issues: Issue[] = [];
  // The flag names itself as the path, since that is what the operator typed.
  const check = <T>(value: string | undefined, flag: string, c: Check<T>): T | undefined =>
    value === undefined ? undefined : c(value, flag, issues);
  const dataDir = check(flags.dataDir, '--data-dir', text);
  const mode = check(flags.mode, '--mode', oneOf(STORAGE_MODES));
  const level = check(flags.logLevel, '--log-level', oneOf(LOG_LEVELS));
  if (issues.length > 0) throw invalid(issues, 'on the command line');
  if (dataDir !== undefined) config.dataDir = isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir);
  if (mode !== undefined) config.mode = mode;
  if (level !== undefined) config.log.level = level;
  if (flags.repair === true) config.repair = true;
}

function invalid(issues: Issue[], where: string): BrokerError {
  const error = new BrokerError(
    'TANDEM_ERR_CONFIG_INVALID',
    `${issues.map((i) => `${i.path}: ${i.message}`).join('; ')} (${where})`,
  );
  return Object.assign(error, { issues });
}
