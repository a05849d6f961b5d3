// The headers of an outgoing SEND: what the application asked for, the client's defaults
// (persistent, a text content-type for string bodies), and never a header the client owns.
import { PRODUCER_ID_HEADER, PRODUCER_SEQ_HEADER } from './producer.js';

export interface SendOptions {
  /** ActiveMQ `persistent`; true by default here, so a receipted message survives a broker restart. */
  persistent?: boolean;
  /** `content-type`; `text/plain;charset=utf-8` by default for a string body. */
  contentType?: string;
  /** Further headers: priority, expires, reply-to, correlation-id, JMSXGroupID, user headers. */
  headers?: Record<string, string>;
}

/** Headers the client sets itself; an application's values for them are ignored. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'destination', 'receipt', 'transaction', 'content-length', PRODUCER_ID_HEADER, PRODUCER_SEQ_HEADER,
]);

export function bodyBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** SEND headers other than destination, receipt, transaction and the producer headers. */
export function sendHeaders(body: string | Uint8Array, options: SendOptions): Array<[string, string]> {
  const headers: Array<[string, string]> = [['persistent', options.persistent === false ? 'false' : 'true']];
  const contentType = options.contentType ?? (typeof body === 'string' ? 'text/plain;charset=utf-8' : undefined);
  if (contentType !== undefined) headers.push(['content-type', contentType]);
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (RESERVED_HEADERS.has(name) || headers.some(([n]) => n === name)) continue;
    headers.push([name, value]);
  }
  return headers;
}
