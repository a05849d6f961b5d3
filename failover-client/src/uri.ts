// Parses ActiveMQ-style connection URIs: `failover:(uri1,...,uriN)?options` with its
// FailoverTransport options and `nested.*` options, or one plain inner URI. Every failure names
// the bad part, because a connection string is typed by hand and read back from config files.
import { clientError, type FailoverClientError } from './errors.js';

export type InnerScheme = 'stomp' | 'stomp+ssl' | 'ws' | 'wss';

const SCHEMES: readonly InnerScheme[] = ['stomp', 'stomp+ssl', 'ws', 'wss'];

/** Options of one inner URI (given on it, or to all of them as `nested.NAME`). */
export interface EndpointOptions {
  /** ms allowed to open the socket and finish the STOMP handshake; 0 for no bound (ActiveMQ's tcp default 30000). */
  connectionTimeout: number;
  /** TCP keep-alive probes on the socket (ActiveMQ default false). */
  keepAlive: boolean;
  /** Disable Nagle's algorithm. True here (ActiveMQ's default is false): receipts are small round trips. */
  tcpNoDelay: boolean;
  /** Check the server certificate and its host name; stomp+ssl:// and wss:// only. */
  verifyHostName: boolean;
}

export interface Endpoint {
  /** The normalised form used in status events and priorityURIs, e.g. `stomp://127.0.0.1:61613`. */
  uri: string;
  scheme: InnerScheme;
  /** Host name or address, IPv6 without brackets. */
  host: string;
  port: number;
  /** The HTTP path of a ws:// or wss:// endpoint; '' for stomp schemes. */
  path: string;
  tls: boolean;
  options: EndpointOptions;
}

/** ActiveMQ FailoverTransport options this client honours, with ActiveMQ's defaults. */
export interface FailoverOptions {
  randomize: boolean;
  initialReconnectDelay: number;
  maxReconnectDelay: number;
  useExponentialBackOff: boolean;
  /** Alias `backOffMultiplier`. */
  reconnectDelayExponent: number;
  /** -1 forever; 0 never reconnect after a loss; N passes over the endpoint list after a loss. */
  maxReconnectAttempts: number;
  /** Passes allowed before the first connection; -1 means "as maxReconnectAttempts". */
  startupMaxReconnectAttempts: number;
  /** ms a send (or subscribe, begin, commit) may wait for its confirmation; -1 forever. */
  timeout: number;
  priorityBackup: boolean;
  /** Normalised URIs of the priority endpoints; empty means "the first endpoint". */
  priorityURIs: string[];
}

export interface ConnectionUri {
  /** False for a plain inner URI: one endpoint and, as in ActiveMQ, no reconnection. */
  failover: boolean;
  endpoints: Endpoint[];
  options: FailoverOptions;
}

export const FAILOVER_DEFAULTS: Readonly<FailoverOptions> = Object.freeze({
  randomize: true,
  initialReconnectDelay: 10,
  maxReconnectDelay: 30000,
  useExponentialBackOff: true,
  reconnectDelayExponent: 2.0,
  maxReconnectAttempts: -1,
  startupMaxReconnectAttempts: -1,
  timeout: -1,
  priorityBackup: false,
  priorityURIs: [],
});

export const ENDPOINT_DEFAULTS: Readonly<EndpointOptions> = Object.freeze({
  connectionTimeout: 30000,
  keepAlive: false,
  tcpNoDelay: true,
  verifyHostName: true,
});

/** setTimeout's ceiling; larger delays would fire at once. */
const MAX_MS = 2147483647;

/** FailoverTransport options ActiveMQ has and this client deliberately does not implement. */
const UNSUPPORTED = new Set([
  'backup', 'backupPoolSize', 'trackMessages', 'maxCacheSize', 'trackTransactionProducers',
  'updateURIsSupported', 'updateURIsURL', 'rebalanceUpdateURIs', 'reconnectSupported', 'warnAfterReconnectAttempts',
]);

type Setter<T> = (target: T, value: string, name: string) => void;

const FAILOVER_SETTERS: Record<string, Setter<FailoverOptions>> = {
  randomize: (o, v, n) => (o.randomize = bool(v, n)),
  initialReconnectDelay: (o, v, n) => (o.initialReconnectDelay = int(v, n, 0, MAX_MS)),
  maxReconnectDelay: (o, v, n) => (o.maxReconnectDelay = int(v, n, 0, MAX_MS)),
  useExponentialBackOff: (o, v, n) => (o.useExponentialBackOff = bool(v, n)),
  reconnectDelayExponent: (o, v, n) => (o.reconnectDelayExponent = exponent(v, n)),
  backOffMultiplier: (o, v, n) => (o.reconnectDelayExponent = exponent(v, n)),
  maxReconnectAttempts: (o, v, n) => (o.maxReconnectAttempts = int(v, n, -1, MAX_MS)),
  startupMaxReconnectAttempts: (o, v, n) => (o.startupMaxReconnectAttempts = int(v, n, -1, MAX_MS)),
  timeout: (o, v, n) => (o.timeout = timeout(v, n)),
  priorityBackup: (o, v, n) => (o.priorityBackup = bool(v, n)),
  // Checked against the endpoint list once every endpoint is parsed.
  priorityURIs: () => undefined,
};

const ENDPOINT_SETTERS: Record<string, Setter<EndpointOptions>> = {
  connectionTimeout: (o, v, n) => (o.connectionTimeout = int(v, n, 0, MAX_MS)),
  keepAlive: (o, v, n) => (o.keepAlive = bool(v, n)),
  tcpNoDelay: (o, v, n) => (o.tcpNoDelay = bool(v, n)),
  verifyHostName: (o, v, n) => (o.verifyHostName = bool(v, n)),
};

/** Parses a failover URI or a plain inner URI; throws TANDEM_ERR_FAILOVER_URI_INVALID naming the bad part. */
export function parseConnectionUri(text: string): ConnectionUri {
  const input = text.trim();
  if (input === '') throw invalid('the URI is empty');
  const prefix = /^failover:(\/\/)?/i.exec(input);
  if (prefix === null) {
    const endpoint = parseEndpoint(input, new Map());
    // A plain URI is a plain connection, as in ActiveMQ: a loss is final.
    return { failover: false, endpoints: [endpoint], options: { ...FAILOVER_DEFAULTS, priorityURIs: [], maxReconnectAttempts: 0, startupMaxReconnectAttempts: 0 } };
  }
  const rest = input.slice(prefix[0].length);
  let list: string;
  let query = '';
  if (rest.startsWith('(')) {
    const close = rest.indexOf(')');
    if (close === -1) throw invalid(`missing ')' to close the endpoint list in '${input}'`);
    list = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith('?')) throw invalid(`unexpected '${after}' after the endpoint list; options follow a '?'`);
    query = after.slice(1);
  } else {
    // ActiveMQ's short form `failover:uri1,uri2` has no failover options: a '?' belongs to an inner URI.
    list = rest;
  }
  const options: FailoverOptions = { ...FAILOVER_DEFAULTS, priorityURIs: [] };
  const pairs = parseQuery(query, 'failover option');
  const nested = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (name.startsWith('nested.')) {
      const inner = name.slice('nested.'.length);
      if (!Object.hasOwn(ENDPOINT_SETTERS, inner)) {
        throw invalid(`unknown nested option '${name}'; nested options are ${known(ENDPOINT_SETTERS, 'nested.')}`);
      }
      nested.set(inner, value);
      continue;
    }
    if (UNSUPPORTED.has(name)) throw invalid(`option '${name}' of ActiveMQ's failover transport is not supported by this client`);
    const setter = FAILOVER_SETTERS[name];
    if (setter === undefined) throw invalid(`unknown failover option '${name}'; known options are ${known(FAILOVER_SETTERS)}`);
    setter(options, value, name);
  }
  if (pairs.has('reconnectDelayExponent') && pairs.has('backOffMultiplier')) {
    throw invalid(`give either 'reconnectDelayExponent' or its alias 'backOffMultiplier', not both`);
  }
  const items = list.split(',');
  const endpoints: Endpoint[] = [];
  items.forEach((item, index) => {
    const trimmed = item.trim();
    if (trimmed === '') throw invalid(`endpoint ${index + 1} of the list is empty`);
    const endpoint = parseEndpoint(trimmed, nested);
    if (endpoints.some((e) => e.uri === endpoint.uri)) throw invalid(`endpoint '${endpoint.uri}' appears twice in the list`);
    endpoints.push(endpoint);
  });
  const priority = pairs.get('priorityURIs');
  if (priority !== undefined) {
    if (!options.priorityBackup) throw invalid(`'priorityURIs' has effect only with 'priorityBackup=true'`);
    for (const entry of priority.split(',')) {
      const trimmed = entry.trim();
      if (trimmed === '') throw invalid(`'priorityURIs' has an empty entry`);
      const uri = parseEndpoint(trimmed, new Map()).uri;
      if (!endpoints.some((e) => e.uri === uri)) throw invalid(`'priorityURIs' entry '${trimmed}' is not one of the endpoints`);
      if (!options.priorityURIs.includes(uri)) options.priorityURIs.push(uri);
    }
  }
  return { failover: true, endpoints, options };
}

/** One inner URI, `scheme://host:port[/path][?options]`; `nested` holds the failover URI's nested.* options. */
export function parseEndpoint(text: string, nested: ReadonlyMap<string, string>): Endpoint {
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (schemeMatch === null) throw invalid(`endpoint '${text}' is not a URI like stomp://host:port`);
  const scheme = schemeMatch[1]!.toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw invalid(`endpoint '${text}' has scheme '${scheme}'; use stomp://, stomp+ssl://, ws:// or wss://`);
  }
  const typed = scheme as InnerScheme;
  if (text.includes('#')) throw invalid(`endpoint '${text}' has a fragment ('#'); remove it`);
  const afterScheme = text.slice(schemeMatch[0].length);
  const queryAt = afterScheme.indexOf('?');
  const beforeQuery = queryAt === -1 ? afterScheme : afterScheme.slice(0, queryAt);
  const query = queryAt === -1 ? '' : afterScheme.slice(queryAt + 1);
  const slashAt = beforeQuery.indexOf('/');
  const authority = slashAt === -1 ? beforeQuery : beforeQuery.slice(0, slashAt);
  const rawPath = slashAt === -1 ? '' : beforeQuery.slice(slashAt);
  if (authority.includes('@')) throw invalid(`endpoint '${text}' carries credentials; give login and passcode as client options`);
  const { host, port } = parseAuthority(authority, text);
  const tls = typed === 'stomp+ssl' || typed === 'wss';
  const isWebSocket = typed === 'ws' || typed === 'wss';
  if (!isWebSocket && rawPath !== '' && rawPath !== '/') throw invalid(`endpoint '${text}' has a path '${rawPath}'; only ws:// and wss:// endpoints take one`);
  const path = isWebSocket ? (rawPath === '' ? '/' : rawPath) : '';
  const options: EndpointOptions = { ...ENDPOINT_DEFAULTS };
  // nested.* first, so an option written on the endpoint itself wins.
  for (const [name, value] of nested) {
    if (name === 'verifyHostName' && !tls) continue;
    ENDPOINT_SETTERS[name]!(options, value, `nested.${name}`);
  }
  for (const [name, value] of parseQuery(query, `option of endpoint '${text}'`)) {
    const setter = ENDPOINT_SETTERS[name];
    if (setter === undefined) throw invalid(`endpoint '${text}' has unknown option '${name}'; endpoint options are ${known(ENDPOINT_SETTERS)}`);
    if (name === 'verifyHostName' && !tls) throw invalid(`endpoint '${text}': 'verifyHostName' applies only to stomp+ssl:// and wss://`);
    setter(options, value, name);
  }
  const hostInUri = host.includes(':') ? `[${host}]` : host;
  return { uri: `${typed}://${hostInUri}:${port}${path}`, scheme: typed, host, port, path, tls, options };
}

function parseAuthority(authority: string, text: string): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) throw invalid(`endpoint '${text}' has an IPv6 address without its closing ']'`);
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw invalid(`endpoint '${text}' has '${after}' after the IPv6 address`);
    portText = after === '' ? undefined : after.slice(1);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(':')) throw invalid(`endpoint '${text}' has an invalid IPv6 address '${host}'`);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
    portText = colon === -1 ? undefined : authority.slice(colon + 1);
    if (host !== '' && !/^[A-Za-z0-9._-]+$/.test(host)) throw invalid(`endpoint '${text}' has an invalid host '${host}'`);
  }
  if (host === '') throw invalid(`endpoint '${text}' has no host`);
  if (portText === undefined || portText === '') throw invalid(`endpoint '${text}' has no port; write it as scheme://host:port`);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw invalid(`endpoint '${text}' has port '${portText}'; a port is an integer from 1 to 65535`);
  return { host: host.toLowerCase(), port };
}

/** `a=1&b=2` into a map, rejecting a pair without '=', an empty name, a repeat and a bad %-escape. */
function parseQuery(query: string, what: string): Map<string, string> {
  const pairs = new Map<string, string>();
  if (query === '') return pairs;
  for (const part of query.split('&')) {
    if (part === '') throw invalid(`an empty ${what} ('&&' or a trailing '&')`);
    const eq = part.indexOf('=');
    if (eq === -1) throw invalid(`${what} '${part}' has no value; write ${part}=VALUE`);
    const name = decode(part.slice(0, eq), part);
    const value = decode(part.slice(eq + 1), part);
    if (name === '') throw invalid(`${what} '${part}' has no name`);
    if (pairs.has(name)) throw invalid(`${what} '${name}' is given twice`);
    pairs.set(name, value);
  }
  return pairs;
}

function decode(text: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(`'${part}' has a malformed %-escape`);
  }
}

function bool(value: string, name: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw invalid(`option '${name}' must be true or false, not '${value}'`);
}

function int(value: string, name: string, min: number, max: number): number {
  const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw invalid(`option '${name}' must be an integer from ${min} to ${max}, not '${value}'`);
  }
  return parsed;
}

function exponent(value: string, name: string): number {
  const parsed = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(parsed >= 1 && parsed <= 100)) throw invalid(`option '${name}' must be a number from 1 to 100, not '${value}'`);
  return parsed;
}

function timeout(value: string, name: string): number {
  const parsed = int(value, name, -1, MAX_MS);
  if (parsed === 0) throw invalid(`option '${name}' must be -1 (wait forever) or a positive number of milliseconds, not '0'`);
  return parsed;
}

function known(setters: Record<string, unknown>, prefix = ''): string {
  return Object.keys(setters).map((k) => prefix + k).join(', ');
}

function invalid(detail: string): FailoverClientError {
  return clientError('TANDEM_ERR_FAILOVER_URI_INVALID', `invalid connection URI: ${detail}`);
}
