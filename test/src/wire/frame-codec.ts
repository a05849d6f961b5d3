// A small, independent STOMP codec for the test and benchmark clients: it encodes what a client
// sends and decodes what a server sends, so the system tests never trust the broker's own codec.
// It is on the benchmark's measured path for every broker alike, so it does little per frame: one
// string per frame head, no escaping work where nothing needs escaping, one buffer per frame out.

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
const BLANK_LINE = Buffer.from('\n\n');
const BLANK_CRLF_LINE = Buffer.from('\n\r\n');
const EMPTY = Buffer.alloc(0);

/** Most values need no escaping; a loop over the characters says so sooner than a RegExp. */
function needsEscape(value: string, cr: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x3a || c === 0x5c || c === 0x0a || (cr && c === 0x0d)) return true;
  }
  return false;
}

/** STOMP 1.1 escapes \\, \n and ':'; 1.2 adds \r. 1.0 has no escaping at all. */
export function escapeHeader(value: string, version: WireVersion): string {
  if (version === '1.0' || !needsEscape(value, version === '1.2')) return value;
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
  /** A receipt header added after the others, so a caller need not copy its headers to add it. */
  receipt?: string;
}

/** CONNECT and CONNECTED are never escaped (STOMP 1.2 "Value Encoding"). */
export function encodeFrame(
  command: string,
  headers: Record<string, string | number | boolean> | Array<[string, string]>,
  body: Buffer | string = EMPTY,
  options: EncodeOptions = {},
): Buffer {
  const version = options.version ?? '1.2';
  const escape = command !== 'CONNECT' && command !== 'STOMP' ? version : '1.0';
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let receipt = options.receipt;
  let head = command + '\n';
  let hasLength = false;
  const line = (key: string, value: string): void => {
    if (key === 'content-length') hasLength = true;
    // Like a spread of { ...headers, receipt }: the receipt takes the place of one in the headers.
    if (key === 'receipt' && receipt !== undefined) {
      value = receipt;
      receipt = undefined;
    }
    head += escapeHeader(key, escape) + ':' + escapeHeader(value, escape) + '\n';
  };
  if (Array.isArray(headers)) {
    for (const [key, value] of headers) line(key, value);
  } else {
    for (const key in headers) line(key, String(headers[key]));
  }
  if (receipt !== undefined) head += 'receipt:' + escapeHeader(receipt, escape) + '\n';
  if (!hasLength && payload.length > 0 && options.contentLength !== false) {
    head += 'content-length:' + payload.length + '\n';
  }
  head += '\n';
  const headLength = Buffer.byteLength(head, 'utf8');
  const frame = Buffer.allocUnsafe(headLength + payload.length + 1);
  frame.write(head, 0, 'utf8');
  frame.set(payload, headLength);
  frame[frame.length - 1] = NUL;
  return frame;
}

/** A decoded frame; the ordered header list is only worked out if somebody asks for it. */
class DecodedFrame implements WireFrame {
  private list: Array<[string, string]> | undefined;

  constructor(
    readonly command: string,
    readonly headers: Record<string, string>,
    readonly body: Buffer,
    /** The frame's head as received: the command line and the header lines. */
    private readonly head: string,
    private readonly version: WireVersion | undefined,
  ) {}

  get headerList(): Array<[string, string]> {
    if (this.list === undefined) {
      const list: Array<[string, string]> = [];
      forEachHeaderLine(this.head, (line, colon) => {
        const key = line.slice(0, colon);
        const value = line.slice(colon + 1);
        list.push(this.version === undefined ? [key, value] : [unescapeHeader(key, this.version), unescapeHeader(value, this.version)]);
      });
      this.list = list;
    }
    return this.list;
  }
}

/** Calls `visit` for each header line of a frame head (CR stripped), with the index of its colon. */
function forEachHeaderLine(head: string, visit: (line: string, colon: number) => void): void {
  const commandEnd = head.indexOf('\n');
  if (commandEnd === -1) return;
  for (let from = commandEnd + 1; from <= head.length; ) {
    let to = head.indexOf('\n', from);
    if (to === -1) to = head.length;
    const line = stripCr(head.slice(from, to));
    from = to + 1;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`header line without a colon: ${JSON.stringify(line)}`);
    visit(line, colon);
  }
}

/**
 * Incremental decoder of server frames. Feed it chunks in any split; it returns the frames completed
 * so far and counts the bare EOLs between frames, which are heart-beats.
 */
export class FrameDecoder {
  version: WireVersion = '1.2';
  heartbeats = 0;
  /** Received bytes; those before `offset` are decoded already. */
  private buffer: Buffer = EMPTY;
  private offset = 0;
  /** Chunks received while a frame of known size is still short of `needed` bytes. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private needed = 0;

  push(chunk: Buffer): WireFrame[] {
    const held = this.buffer.length - this.offset;
    if (this.needed > 0 && held + this.waitingBytes + chunk.length < this.needed) {
      // A large body arriving in pieces is joined once, not once per piece.
      this.waiting.push(chunk);
      this.waitingBytes += chunk.length;
      return [];
    }
    if (held === 0 && this.waiting.length === 0) {
      this.buffer = chunk;
    } else {
      this.buffer = Buffer.concat([this.buffer.subarray(this.offset), ...this.waiting, chunk]);
      this.waiting = [];
      this.waitingBytes = 0;
    }
    this.offset = 0;
    this.needed = 0;
    const frames: WireFrame[] = [];
    for (;;) {
      const frame = this.next();
      if (frame === undefined) break;
      frames.push(frame);
    }
    if (this.offset === this.buffer.length) {
      this.buffer = EMPTY;
      this.offset = 0;
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffer.length - this.offset + this.waitingBytes;
  }

  private next(): WireFrame | undefined {
    const buffer = this.buffer;
    let start = this.offset;
    while (start < buffer.length && (buffer[start] === LF || buffer[start] === CR)) {
      if (buffer[start] === LF) this.heartbeats++;
      start++;
    }
    this.offset = start;
    let headEnd = findPlainHeadEnd(buffer, start);
    let head = headEnd === undefined ? '' : buffer.toString('utf8', start, headEnd.at);
    // Heads with CR-LF line ends (rare: STOMP allows them) may end at a CR-LF blank line sooner.
    if (headEnd === undefined || head.includes('\r')) {
      headEnd = findHeadEnd(buffer, start);
      if (headEnd === undefined) return undefined;
      head = buffer.toString('utf8', start, headEnd.at);
    }
    const commandEnd = head.indexOf('\n');
    const command = stripCr(commandEnd === -1 ? head : head.slice(0, commandEnd));
    const escaped = command !== 'CONNECTED' && this.version !== '1.0' && head.includes('\\') ? this.version : undefined;
    const headers: Record<string, string> = {};
    const crs = head.includes('\r');
    // Where the next backslash is: only a name or value holding one is unescaped.
    let slash = escaped === undefined ? -1 : head.indexOf('\\');
    for (let from = commandEnd + 1; commandEnd !== -1 && from <= head.length; ) {
      let to = head.indexOf('\n', from);
      if (to === -1) to = head.length;
      let end = to;
      if (crs && end > from && head.charCodeAt(end - 1) === 0x0d) end--;
      const colon = head.indexOf(':', from);
      if (colon === -1 || colon >= end) throw new Error(`header line without a colon: ${JSON.stringify(head.slice(from, end))}`);
      if (slash !== -1 && slash < from) slash = head.indexOf('\\', from);
      const key = slash !== -1 && slash < colon ? internName(unescapeHeader(head.slice(from, colon), escaped!)) : knownName(head, from, colon);
      if (headers[key] === undefined) {
        const value = head.slice(colon + 1, end);
        headers[key] = slash !== -1 && slash < end ? unescapeHeader(value, escaped!) : value;
      }
      from = to + 1;
    }
    const bodyStart = headEnd.at + headEnd.length;
    let bodyEnd: number;
    const declared = headers['content-length'];
    if (declared !== undefined) {
      const length = Number(declared);
      if (!Number.isInteger(length) || length < 0) throw new Error(`bad content-length ${declared}`);
      if (buffer.length < bodyStart + length + 1) {
        this.needed = bodyStart + length + 1 - start;
        return undefined;
      }
      bodyEnd = bodyStart + length;
      if (buffer[bodyEnd] !== NUL) throw new Error('frame body not followed by NUL');
    } else {
      const nul = buffer.indexOf(NUL, bodyStart);
      if (nul < 0) return undefined;
      bodyEnd = nul;
    }
    // A view, not a copy: socket reads are fresh buffers sized to what was read, so a frame kept
    // by a test pins little, and a joined buffer is the decoder's own.
    const body = bodyEnd > bodyStart ? buffer.subarray(bodyStart, bodyEnd) : EMPTY;
    this.offset = bodyEnd + 1;
    return new DecodedFrame(command, headers, body, head, escaped);
  }
}

/**
 * The header name at head[from, colon), as the engine's own copy, found without cutting a new
 * string when the name was seen before (names are looked up by length and first character).
 */
const BY_SHAPE = new Map<number, string[]>();
function knownName(head: string, from: number, colon: number): string {
  const shape = (colon - from) * 65536 + head.charCodeAt(from);
  const candidates = BY_SHAPE.get(shape);
  if (candidates !== undefined) {
    for (const name of candidates) if (head.startsWith(name, from)) return name;
  }
  const name = internName(head.slice(from, colon));
  if (NAMES.size < 1000) {
    if (candidates === undefined) BY_SHAPE.set(shape, [name]);
    else if (!candidates.includes(name)) candidates.push(name);
  }
  return name;
}

/**
 * The engine's own (internalized) copy of a header name. An object is read and written fast with
 * such keys; with a name freshly cut from a frame, every access takes the slow path. Header names
 * repeat from frame to frame, so the cache stays small.
 */
const NAMES = new Map<string, string>();
function internName(name: string): string {
  let interned = NAMES.get(name);
  if (interned === undefined) {
    interned = Object.keys({ [name]: true })[0]!;
    if (NAMES.size < 1000) NAMES.set(interned, interned);
  }
  return interned;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Where a head with plain LF line ends ends. */
function findPlainHeadEnd(buffer: Buffer, from: number): { at: number; length: number } | undefined {
  const at = buffer.indexOf(BLANK_LINE, from);
  return at === -1 ? undefined : { at, length: 2 };
}

/** Where the blank line after the headers starts, and how long it is (\n\n or \r\n\r\n forms). */
function findHeadEnd(buffer: Buffer, from: number): { at: number; length: number } | undefined {
  const plain = buffer.indexOf(BLANK_LINE, from);
  // A CR-LF blank line can only end the head sooner if a CR comes before the first \n\n; heads
  // are short, so looking byte by byte costs less than a search that might run past them.
  let crAt = -1;
  const stop = plain === -1 ? buffer.length : plain;
  for (let i = from; i < stop; i++) {
    if (buffer[i] === CR) {
      crAt = i;
      break;
    }
  }
  if (crAt !== -1) {
    const crlf = buffer.indexOf(BLANK_CRLF_LINE, Math.max(from, crAt - 1));
    if (crlf !== -1 && (plain === -1 || crlf < plain)) return { at: crlf, length: 3 };
  }
  return plain === -1 ? undefined : { at: plain, length: 2 };
}
