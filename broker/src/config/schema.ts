// The broker's configuration: its shape, the embedded defaults, and validation that names the bad
// field. Every key is optional; relative paths resolve against `baseDir` (the config file's folder).
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_LOCK_SETTINGS, MIN_LEASE_MS, MIN_RENEW_INTERVAL_MS, type LockSettings, type StorageMode } from '@tandem-mq/shared-store';
import { DEFAULT_DEAD_LETTER_POLICY, DEFAULT_REDELIVERY_POLICY, type RedeliveryPolicy } from '../core/policies.js';
import { DEFAULT_STOMP_LIMITS } from '../protocol/stomp/frame.js';
import { replication, type ReplicationConfig } from './replication.js';
import {
  boolean,
  field,
  integer,
  joinPath,
  mapping,
  matching,
  number,
  oneOf,
  required,
  text,
  type Check,
  type Issue,
  type Mapping,
} from './validate.js';

export interface ListenerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface WebSocketConfig extends ListenerConfig {
  enabled: boolean;
  /** The HTTP path the upgrade must ask for. */
  path: string;
}

export interface TlsConfig extends ListenerConfig {
  /** PEM files, absolute after loading. */
  cert: string;
  key: string;
  ca?: string;
}

export interface JournalConfig {
  segmentSize: number;
  syncIntervalMs: number;
  reclaimIntervalMs: number;
}

export interface LimitsConfig {
  maxFrameSize: number;
  maxHeaders: number;
  maxHeaderLength: number;
  /** Across every listener together. */
  maxConnections: number;
}

export interface HeartbeatConfig {
  /** The server's offer in CONNECTED, ms: how often it can send / wants to receive. 0 for none. */
  send: number;
  receive: number;
}

export interface DeadLetterConfig {
  /** The default dead-letter queue's name, without /queue/. */
  queue: string;
  processExpired: boolean;
  /** First matching prefix wins; `prefix` is canonical ("/queue/orders."), `queue` a bare name. */
  rules: Array<{ prefix: string; queue: string }>;
}

/**
 * The active/standby pair: the lock on the data directory and what a broker does once it lost it.
 * The lease numbers are the lock's own (docs/adr/0009-lock-lease-and-fencing.md).
 */
export interface HaConfig extends LockSettings {
  /** false: no lock, the broker is active at once; only for a data directory no other broker uses. */
  enabled: boolean;
  /** After fencing: contend for the lock again (standby), or stop the process (exit status 1). */
  afterFence: AfterFence;
}

export const AFTER_FENCE = ['standby', 'stop'] as const;
export type AfterFence = (typeof AFTER_FENCE)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const STORAGE_MODES: readonly StorageMode[] = ['durability', 'throughput'];

export interface BrokerConfig {
  /** Absolute after loading. */
  dataDir: string;
  mode: StorageMode;
  /** Skip corrupt journal records instead of refusing to start (the --repair flag; not a file key). */
  repair: boolean;
  journal: JournalConfig;
  stomp: ListenerConfig;
  websocket: WebSocketConfig;
  /** Absent: no TLS listener. */
  tls?: TlsConfig;
  admin: ListenerConfig;
  limits: LimitsConfig;
  heartbeat: HeartbeatConfig;
  redelivery: RedeliveryPolicy;
  deadLetter: DeadLetterConfig;
  ha: HaConfig;
  log: { level: LogLevel };
  /** Absent: no cross-region replication; the broker serves as today. */
  replication?: ReplicationConfig;
}

export type { ReplicationConfig };

const LOCALHOST = '127.0.0.1';
const MAX_TIMER_MS = 2_147_483_647; // the largest delay setTimeout honours

/** The embedded defaults, with `dataDir` still relative (resolved by validateConfig). */
export function defaultConfig(): BrokerConfig {
  return {
    dataDir: './data',
    mode: 'durability',
    repair: false,
    journal: { segmentSize: 32 * 1024 * 1024, syncIntervalMs: 100, reclaimIntervalMs: 1000 },
    stomp: { host: LOCALHOST, port: 61613 },
    websocket: { enabled: true, host: LOCALHOST, port: 61614, path: '/' },
    admin: { host: LOCALHOST, port: 8161 },
    limits: { ...DEFAULT_STOMP_LIMITS, maxConnections: 1000 },
    heartbeat: { send: 10_000, receive: 10_000 },
    redelivery: { ...DEFAULT_REDELIVERY_POLICY },
    deadLetter: {
      queue: DEFAULT_DEAD_LETTER_POLICY.defaultQueue,
      processExpired: DEFAULT_DEAD_LETTER_POLICY.processExpired,
      rules: [],
    },
    ha: { enabled: true, ...DEFAULT_LOCK_SETTINGS, afterFence: 'standby' },
    log: { level: 'info' },
  };
}

const TOP_KEYS = [
  'dataDir', 'mode', 'journal', 'stomp', 'websocket', 'tls', 'admin', 'limits', 'heartbeat', 'redelivery', 'deadLetter', 'ha', 'log',
  'replication',
] as const;

const host = matching((v) => v.length > 0 && !/\s/.test(v), 'a host name or IP address');
const port = integer(0, 65535);
const httpPath = matching((v) => v.startsWith('/') && !/\s/.test(v), 'a path starting with /');
const destinationPrefix = matching(
  (v) => v.length > 0 && !/\s/.test(v),
  'a destination prefix such as /queue/orders.',
);
const queueName = matching((v) => bareQueue(v).length > 0 && !/[\s*>]/.test(v), 'a queue name such as DLQ.orders');

/** Accepts "DLQ.x" or "/queue/DLQ.x"; the policy wants the bare name. */
function bareQueue(name: string): string {
  return name.startsWith('/queue/') ? name.slice('/queue/'.length) : name;
}

/** A bare prefix names queues, as a bare destination does. */
function canonicalPrefix(prefix: string): string {
  return prefix.startsWith('/') ? prefix : `/queue/${prefix}`;
}

function listener(raw: unknown, path: string, defaults: ListenerConfig, issues: Issue[]): ListenerConfig {
  const m = mapping(raw, path, ['host', 'port'], issues);
  return { host: field(m, 'host', path, host, defaults.host, issues), port: field(m, 'port', path, port, defaults.port, issues) };
}

function websocket(raw: unknown, defaults: WebSocketConfig, issues: Issue[]): WebSocketConfig {
  const path = 'websocket';
  const m = mapping(raw, path, ['enabled', 'host', 'port', 'path'], issues);
  return {
    enabled: field(m, 'enabled', path, boolean, defaults.enabled, issues),
    host: field(m, 'host', path, host, defaults.host, issues),
    port: field(m, 'port', path, port, defaults.port, issues),
    path: field(m, 'path', path, httpPath, defaults.path, issues),
  };
}

function tls(raw: unknown, baseDir: string, issues: Issue[]): TlsConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const path = 'tls';
  const m = mapping(raw, path, ['host', 'port', 'cert', 'key', 'ca'], issues);
  const cert = required(m, 'cert', path, text, issues);
  const key = required(m, 'key', path, text, issues);
  const ca = field<string | undefined>(m, 'ca', path, text, undefined, issues);
  const config: TlsConfig = {
    host: field(m, 'host', path, host, LOCALHOST, issues),
    port: field(m, 'port', path, port, 61612, issues),
    cert: resolve(baseDir, cert ?? ''),
    key: resolve(baseDir, key ?? ''),
  };
  if (ca !== undefined) config.ca = resolve(baseDir, ca);
  return config;
}

function journal(raw: unknown, d: JournalConfig, issues: Issue[]): JournalConfig {
  const p = 'journal';
  const m = mapping(raw, p, ['segmentSize', 'syncIntervalMs', 'reclaimIntervalMs'], issues);
  return {
    segmentSize: field(m, 'segmentSize', p, integer(4096, 2_147_483_647), d.segmentSize, issues),
    syncIntervalMs: field(m, 'syncIntervalMs', p, integer(1, 3_600_000), d.syncIntervalMs, issues),
    reclaimIntervalMs: field(m, 'reclaimIntervalMs', p, integer(1, 3_600_000), d.reclaimIntervalMs, issues),
  };
}

function limits(raw: unknown, d: LimitsConfig, issues: Issue[]): LimitsConfig {
  const p = 'limits';
  const m = mapping(raw, p, ['maxFrameSize', 'maxHeaders', 'maxHeaderLength', 'maxConnections'], issues);
  return {
    maxFrameSize: field(m, 'maxFrameSize', p, integer(1024, 2_147_483_647), d.maxFrameSize, issues),
    maxHeaders: field(m, 'maxHeaders', p, integer(1, 1_000_000), d.maxHeaders, issues),
    maxHeaderLength: field(m, 'maxHeaderLength', p, integer(64, 16_777_216), d.maxHeaderLength, issues),
    maxConnections: field(m, 'maxConnections', p, integer(1, 1_000_000), d.maxConnections, issues),
  };
}

function heartbeat(raw: unknown, d: HeartbeatConfig, issues: Issue[]): HeartbeatConfig {
  const p = 'heartbeat';
  const m = mapping(raw, p, ['send', 'receive'], issues);
  return {
    send: field(m, 'send', p, integer(0, MAX_TIMER_MS), d.send, issues),
    receive: field(m, 'receive', p, integer(0, MAX_TIMER_MS), d.receive, issues),
  };
}

function redelivery(raw: unknown, d: RedeliveryPolicy, issues: Issue[]): RedeliveryPolicy {
  const p = 'redelivery';
  const m = mapping(raw, p, Object.keys(d), issues);
  return {
    maximumRedeliveries: field(m, 'maximumRedeliveries', p, integer(-1), d.maximumRedeliveries, issues),
    initialRedeliveryDelay: field(m, 'initialRedeliveryDelay', p, integer(0, MAX_TIMER_MS), d.initialRedeliveryDelay, issues),
    redeliveryDelay: field(m, 'redeliveryDelay', p, integer(0, MAX_TIMER_MS), d.redeliveryDelay, issues),
    useExponentialBackOff: field(m, 'useExponentialBackOff', p, boolean, d.useExponentialBackOff, issues),
    backOffMultiplier: field(m, 'backOffMultiplier', p, number(1), d.backOffMultiplier, issues),
    maximumRedeliveryDelay: field(m, 'maximumRedeliveryDelay', p, integer(-1, MAX_TIMER_MS), d.maximumRedeliveryDelay, issues),
  };
}

function deadLetter(raw: unknown, d: DeadLetterConfig, issues: Issue[]): DeadLetterConfig {
  const p = 'deadLetter';
  const m = mapping(raw, p, ['queue', 'processExpired', 'rules'], issues);
  const rules: DeadLetterConfig['rules'] = [];
  const rawRules = m['rules'];
  if (rawRules !== undefined && rawRules !== null && !Array.isArray(rawRules)) {
    issues.push({ path: joinPath(p, 'rules'), message: 'must be a list of { prefix, queue }' });
  } else if (Array.isArray(rawRules)) {
    rawRules.forEach((rawRule: unknown, i) => {
      const rp = joinPath(joinPath(p, 'rules'), i);
      const before = issues.length;
      const rule = mapping(rawRule, rp, ['prefix', 'queue'], issues);
      if (typeof rawRule !== 'object' || rawRule === null || Array.isArray(rawRule)) {
        if (issues.length === before) issues.push({ path: rp, message: 'must be a mapping' });
        return;
      }
      const prefix = required(rule, 'prefix', rp, destinationPrefix, issues);
      const queue = required(rule, 'queue', rp, queueName, issues);
      if (prefix !== undefined && queue !== undefined) rules.push({ prefix: canonicalPrefix(prefix), queue: bareQueue(queue) });
    });
  }
  return {
    queue: bareQueue(field(m, 'queue', p, queueName, d.queue, issues)),
    processExpired: field(m, 'processExpired', p, boolean, d.processExpired, issues),
    rules,
  };
}

/** integer(min, max) whose message also says where the bound comes from. */
function bounded(min: number, max: number, why: string): Check<number> {
  const inRange = integer(min, max);
  return (value, path, issues) => {
    const checked = inRange(value, path, []);
    if (checked === undefined) issues.push({ path, message: `must be an integer from ${min} to ${max} (${why})` });
    return checked;
  };
}

const HA_KEYS = ['enabled', 'leaseMs', 'renewIntervalMs', 'retryIntervalMs', 'pidCheck', 'safetyMarginMs', 'afterFence'] as const;

/**
 * The lease arithmetic the lock insists on, checked here so the message names the field: the lease
 * at least proper-lockfile's minimum, renewals at least twice per lease, and the holder's safety
 * margin inside the gap between its last renewal and the lease's end.
 */
function ha(raw: unknown, d: HaConfig, issues: Issue[]): HaConfig {
  const p = 'ha';
  const m = mapping(raw, p, HA_KEYS, issues);
  const leaseMs = field(m, 'leaseMs', p, integer(MIN_LEASE_MS, 600_000), d.leaseMs, issues);
  // Unset, the renewal follows the lease (half of it), as the lock's own defaults do.
  const renewDefault = m['leaseMs'] === undefined ? d.renewIntervalMs : Math.max(MIN_RENEW_INTERVAL_MS, Math.floor(leaseMs / 2));
  const renewMax = Math.max(MIN_RENEW_INTERVAL_MS, Math.floor(leaseMs / 2));
  const renewIntervalMs = field(m, 'renewIntervalMs', p, bounded(MIN_RENEW_INTERVAL_MS, renewMax, 'at most half of ha.leaseMs'), renewDefault, issues);
  const marginMax = Math.max(0, leaseMs - renewIntervalMs - 1);
  return {
    enabled: field(m, 'enabled', p, boolean, d.enabled, issues),
    leaseMs,
    renewIntervalMs,
    retryIntervalMs: field(m, 'retryIntervalMs', p, integer(1, 60_000), d.retryIntervalMs, issues),
    pidCheck: field(m, 'pidCheck', p, boolean, d.pidCheck, issues),
    safetyMarginMs: field(m, 'safetyMarginMs', p, bounded(0, marginMax, 'below ha.leaseMs - ha.renewIntervalMs'), Math.min(d.safetyMarginMs, marginMax), issues),
    afterFence: field(m, 'afterFence', p, oneOf(AFTER_FENCE), d.afterFence, issues),
  };
}

/**
 * Checks a parsed file (or {} for none) against the schema and fills in defaults. Returns the
 * config and every issue found; callers refuse to start when there is any.
 */
export function validateConfig(raw: unknown, baseDir: string): { config: BrokerConfig; issues: Issue[] } {
  const issues: Issue[] = [];
  const d = defaultConfig();
  const m: Mapping = mapping(raw, '', TOP_KEYS, issues);
  const dataDir = field(m, 'dataDir', '', text, d.dataDir, issues);
  const tlsConfig = tls(m['tls'], baseDir, issues);
  const logSection = mapping(m['log'], 'log', ['level'], issues);
  const config: BrokerConfig = {
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(baseDir, dataDir),
    mode: field(m, 'mode', '', oneOf(STORAGE_MODES), d.mode, issues),
    repair: false,
    journal: journal(m['journal'], d.journal, issues),
    stomp: listener(m['stomp'], 'stomp', d.stomp, issues),
    websocket: websocket(m['websocket'], d.websocket, issues),
    admin: listener(m['admin'], 'admin', d.admin, issues),
    limits: limits(m['limits'], d.limits, issues),
    heartbeat: heartbeat(m['heartbeat'], d.heartbeat, issues),
    redelivery: redelivery(m['redelivery'], d.redelivery, issues),
    deadLetter: deadLetter(m['deadLetter'], d.deadLetter, issues),
    ha: ha(m['ha'], d.ha, issues),
    log: { level: field(logSection, 'level', 'log', oneOf(LOG_LEVELS), d.log.level, issues) },
  };
  if (tlsConfig !== undefined) config.tls = tlsConfig;
  const replicationConfig = replication(m['replication'], baseDir, issues);
  if (replicationConfig !== undefined) config.replication = replicationConfig;
  return { config, issues };
}
