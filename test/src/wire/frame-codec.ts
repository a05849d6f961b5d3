// A small, independent STOMP codec for the test and benchmark clients: it encodes what a client
// sends and decodes what a server sends, so the system tests never trust the broker's own codec.

export type WireVersion = '1.0' | '1.1' | '1.2';

export interface WireFrame {
  command: string;
  /** First occurrence wins, as STOMP 1.2 "Repeated Header Entries" says. */
  headers: Record<string, string>;
  /** Every header line in order, repeats included. */
  headerList: Array<[string, string]>;
  body: Buffer;
}

const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;

/** STOMP 1.1 escapes \\, \n and ':'; 1.2 adds \r. 1.0 has no escaping at all. */
export function escapeHeader(value: string, version: WireVersion): string {
  if (version === '1.0') return value;
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === ':') out += '\\c';
    else if (ch === '\r' && version === '1.2') out += '\\r';
    else out += ch;
  }
  return out;
}

export function unescapeHeader(value: string, version: WireVersion): string {
  if (version === '1.0' || !value.includes('\\')) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = value[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'c') out += ':';
    else if (next === 'r' && version === '1.2') out += '\r';
    else throw new Error(`undefined escape sequence \\${next ?? ''} in header value`);
  }
  return out;
}

export interface EncodeOptions {
  version?: WireVersion;
  /** Add content-length for a non-empty body (default true); false lets a test send NUL-terminated bodies only. */
  contentLength?: boolean;
}

/** CONNECT and CONNECTED are never escaped (STOMP 1.2 "Value Encoding"). */
export function encodeFrame(
  command: string,
  headers: Record<string, string | number | boolean> | Array<[string, string]>,
  body: Buffer | string = Buffer.alloc(0),
  options: EncodeOptions = {},
): Buffer {
  const version = options.version ?? '1.2';
  const escape = command !== 'CONNECT' && command !== 'STOMP';
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const entries: Array<[string, string]> = Array.isArray(headers)
    ? headers
    : Object.entries(headers).map(([key, value]) => [key, String(value)]);
  let head = command + '\n';
  let hasLength = false;
  for (const [key, value] of entries) {
    if (key === 'content-length') hasLength = true;
    head += escape ? `${escapeHeader(key, version)}:${escapeHeader(value, version)}\n` : `${key}:${value}\n`;
  }
  if (!hasLength && payload.length > 0 && options.contentLength !== false) {
    head += `content-length:${payload.length}\n`;
  }
  head += '\n';
  return Buffer.concat([Buffer.from(head, 'utf8'), payload, Buffer.from([NUL])]);
}

/**
 * Incremental decoder of server frames. Feed it chunks in any split; it returns the frames completed
 * so far and counts the bare EOLs between frames, which are heart-beats.
 */
export class FrameDecoder {
  version: WireVersion = '1.2';
  heartbeats = 0;
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): WireFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: WireFrame[] = [];
    for (;;) {
      const frame = this.next();
      if (frame === undefined) break;
      frames.push(frame);
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffer.length;
  }

  private next(): WireFrame | undefined {
    let start = 0;
    while (start < this.buffer.length && (this.buffer[start] === LF || this.buffer[start] === CR)) {
      if (this.buffer[start] === LF) this.heartbeats++;
      start++;
    }
    if (start > 0) this.buffer = this.buffer.subarray(start);
    const headEnd = findHeadEnd(this.buffer);
    if (headEnd === undefined) return undefined;
    const lines = this.buffer.subarray(0, headEnd.at).toString('utf8').split('\n').map(stripCr);
    const command = lines.shift() ?? '';
    const unescape = command !== 'CONNECTED';
    const headerList: Array<[string, string]> = [];
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon < 0) throw new Error(`header line without a colon: ${JSON.stringify(line)}`);
      const key = unescape ? unescapeHeader(line.slice(0, colon), this.version) : line.slice(0, colon);
      const value = unescape ? unescapeHeader(line.slice(colon + 1), this.version) : line.slice(colon + 1);
      headerList.push([key, value]);
      if (!(key in headers)) headers[key] = value;
    }
    const bodyStart = headEnd.at + headEnd.length;
    let bodyEnd: number;
    const declared = headers['content-length'];
    if (declared !== undefined) {
      const length = Number(declared);
      if (!Number.isInteger(length) || length < 0) throw new Error(`bad content-length ${declared}`);
      if (this.buffer.length < bodyStart + length + 1) return undefined;
      bodyEnd = bodyStart + length;
      if (this.buffer[bodyEnd] !== NUL) throw new Error('frame body not followed by NUL');
    } else {
      const nul = this.buffer.indexOf(NUL, bodyStart);
      if (nul < 0) return undefined;
      bodyEnd = nul;
    }
    const body = Buffer.from(this.buffer.subarray(bodyStart, bodyEnd));
    this.buffer = this.buffer.subarray(bodyEnd + 1);
    return { command, headers, headerList, body };
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Where the blank line after the headers starts, and how long it is (\n\n or \r\n\r\n forms). */
function findHeadEnd(buffer: Buffer): { at: number; length: number } | undefined {
  for (let i = 0; i < buffer.length; i++) {
    if (buffer[i] !== LF) continue;
    if (buffer[i + 1] === LF) return { at: i, length: 2 };
    if (buffer[i + 1] === CR && buffer[i + 2] === LF) return { at: i, length: 3 };
  }
  return undefined;
}
