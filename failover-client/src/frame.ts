// STOMP 1.2 frames as the client sees them, and the serializer. Pure: no sockets. The parser is in
// frame-parser.ts.
import { clientError } from './errors.js';

export interface Frame {
  command: string;
  /** In wire order; a repeated header keeps every entry and the first one counts (STOMP 1.2). */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** The first value of a header, per STOMP 1.2 "Repeated Header Entries". */
export function header(frame: Frame, name: string): string | undefined {
  for (const [key, value] of frame.headers) if (key === name) return value;
  return undefined;
}

/** A heart-beat is one EOL between frames. */
export const HEARTBEAT = Buffer.from('\n');

const LF = 0x0a;
const NUL = 0x00;

/** STOMP 1.2 "Value Encoding": every frame except CONNECT and CONNECTED escapes \, CR, LF and ':'. */
export function escapeHeader(value: string): string {
  return value.replace(/[\\\r\n:]/g, (c) => (c === '\\' ? '\\\\' : c === '\r' ? '\\r' : c === '\n' ? '\\n' : '\\c'));
}

/**
 * Serialises a frame. A `content-length` header is added to any frame with a body, so a body may
 * hold NUL bytes. CONNECT headers cannot be escaped, so a CR, LF or ':' in a CONNECT header name
 * or a CR/LF in its value is refused rather than sent as a broken frame.
 */
export function encodeFrame(frame: Frame): Buffer {
  const raw = frame.command === 'CONNECT' || frame.command === 'CONNECTED';
  let head = `${frame.command}\n`;
  let hasLength = false;
  for (const [name, value] of frame.headers) {
    if (name === 'content-length') hasLength = true;
    if (raw) {
      if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) {
        throw clientError('TANDEM_ERR_PROTOCOL', `${frame.command} header '${name}' cannot hold a line break (CONNECT headers are not escaped)`);
      }
      head += `${name}:${value}\n`;
    } else {
      head += `${escapeHeader(name)}:${escapeHeader(value)}\n`;
    }
  }
  if (!hasLength && frame.body.length > 0) head += `content-length:${frame.body.length}\n`;
  head += '\n';
  const headBytes = Buffer.from(head, 'utf8');
  const out = Buffer.allocUnsafe(headBytes.length + frame.body.length + 1);
  headBytes.copy(out, 0);
  frame.body.copy(out, headBytes.length);
  out[out.length - 1] = NUL;
  return out;
}

export { LF, NUL };
