// Destination names: parsing what clients write into the canonical form the core keys everything
// by ("/queue/x", "/topic/x", "/temp-queue/x", "/temp-topic/x"; a bare name is a queue).
import { BrokerError } from '../errors.js';
import type { DestinationKind } from './types.js';

export interface Destination {
  kind: DestinationKind;
  /** The name after the prefix, e.g. "orders.eu" for "/queue/orders.eu". */
  path: string;
  /** Canonical form, e.g. "/queue/orders.eu". */
  name: string;
  /** True when an element is `*` or `>` (allowed in topic subscriptions only). */
  wildcard: boolean;
}

const PREFIXES: Array<[string, DestinationKind]> = [
  ['/queue/', 'queue'],
  ['/topic/', 'topic'],
  ['/temp-queue/', 'temp-queue'],
  ['/temp-topic/', 'temp-topic'],
];

/** Long enough for any sensible name, short enough that a name cannot be used to bloat memory. */
const MAX_NAME_LENGTH = 1024;
// Control characters break headers and logs; a comma would mean an ActiveMQ composite destination,
// which the core does not offer, so it is refused rather than silently taken as one name.
const FORBIDDEN = /[\u0000-\u001f\u007f,]/;

export function canonicalName(kind: DestinationKind, path: string): string {
  return `/${kind}/${path}`;
}

// Sends parse the same few names over and over; a bounded cache keeps that off the hot path.
const cache = new Map<string, Destination>();
const CACHE_LIMIT = 10_000;

/** Throws BrokerError TANDEM_ERR_INVALID_DESTINATION for an empty or malformed name. */
export function parseDestination(text: string): Destination {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(text);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, parsed);
  return parsed;
}

function parseUncached(text: string): Destination {
  if (typeof text !== 'string' || text.length === 0) throw invalid(String(text), 'it is empty');
  let kind: DestinationKind = 'queue';
  let path = text;
  for (const [prefix, prefixKind] of PREFIXES) {
    if (text.startsWith(prefix)) {
      kind = prefixKind;
      path = text.slice(prefix.length);
      break;
    }
  }
  if (path === text && text.startsWith('/')) {
    throw invalid(text, 'it must start with /queue/, /topic/, /temp-queue/ or /temp-topic/, or be a bare queue name');
  }
  if (path.length === 0) throw invalid(text, 'the name after the prefix is empty');
  if (path.length > MAX_NAME_LENGTH) throw invalid(text, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  if (FORBIDDEN.test(path)) throw invalid(text, 'the name holds a control character or a comma');
  if (path.trim() !== path) throw invalid(text, 'the name starts or ends with whitespace');
  const elements = path.split('.');
  let wildcard = false;
  for (let i = 0; i < elements.length; i++) {
    const element = elements[i]!;
    if (element.length === 0) throw invalid(text, 'the name has an empty element (two dots, or a dot at an end)');
    if (element === '*' || element === '>') {
      wildcard = true;
      if (element === '>' && i !== elements.length - 1) throw invalid(text, '`>` may only be the last element');
    }
  }
  return { kind, path, name: canonicalName(kind, path), wildcard };
}

export function isTopicKind(kind: DestinationKind): boolean {
  return kind === 'topic' || kind === 'temp-topic';
}

export function isTemporary(kind: DestinationKind): boolean {
  return kind === 'temp-queue' || kind === 'temp-topic';
}

export function invalid(text: string, why: string): BrokerError {
  return new BrokerError('TANDEM_ERR_INVALID_DESTINATION', `invalid destination "${text}": ${why}`);
}
