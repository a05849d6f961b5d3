// An incremental STOMP 1.2 frame parser: a state machine fed chunks as they arrive, returning
// whole frames. EOLs between frames are heart-beats. It never touches a socket.
import { clientError, type FailoverClientError } from './errors.js';
import { LF, NUL, type Frame } from './frame.js';

const CR = 0x0d;

type State = 'command' | 'headers' | 'body';

export interface ParserLimits {
  /** Largest frame (headers and body) accepted from the server. */
  maxFrameSize: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = { maxFrameSize: 64 * 1024 * 1024 };

export class FrameParser {
  private state: State = 'command';
  /** Unparsed bytes; `pos` is where parsing continues, `frameStart` where the current frame began. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private frameStart = 0;
  /** Chunks held back while a body of known length is still incomplete, so big bodies are copied once. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private command = '';
  private headers: Array<[string, string]> = [];
  private contentLength: number | undefined;
  /** Heart-beat EOLs seen so far; for tests and diagnostics. */
  heartbeats = 0;

  constructor(private readonly limits: ParserLimits = DEFAULT_PARSER_LIMITS) {}

  /** Feeds bytes; returns the frames they complete. Throws TANDEM_ERR_PROTOCOL on malformed input. */
  push(chunk: Buffer): Frame[] {
    if (this.state === 'body' && this.contentLength !== undefined) {
      const needed = this.pos + this.contentLength + 1;
      if (this.buf.length + this.waitingBytes + chunk.length < needed) {
        this.waiting.push(chunk);
        this.waitingBytes += chunk.length;
        return [];
      }
    }
    this.compact(chunk);
    const frames: Frame[] = [];
    for (;;) {
      const frame = this.step();
      if (frame === null) break;
      if (frame !== undefined) frames.push(frame);
    }
    if (this.buf.length - this.frameStart > this.limits.maxFrameSize) {
      throw protocol(`a frame from the server exceeds ${this.limits.maxFrameSize} bytes`);
    }
    return frames;
  }

  /** Drops the consumed prefix and appends the new bytes. */
  private compact(chunk: Buffer): void {
    const keepFrom = this.frameStart;
    const parts = [this.buf.subarray(keepFrom), ...this.waiting, chunk];
    this.buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.pos -= keepFrom;
    this.frameStart = 0;
    this.waiting = [];
    this.waitingBytes = 0;
  }

  /** One transition: a frame, undefined when progress was made without one, null when more bytes are needed. */
  private step(): Frame | undefined | null {
    switch (this.state) {
      case 'command':
        return this.readCommand();
      case 'headers':
        return this.readHeader();
      case 'body':
        return this.readBody();
    }
  }

  private readCommand(): undefined | null {
    // EOLs before a command are heart-beats (STOMP 1.2 "Heart-beating").
    while (this.pos < this.buf.length) {
      const byte = this.buf[this.pos];
      if (byte === LF) {
        this.pos++;
        this.heartbeats++;
      } else if (byte === CR) {
        if (this.pos + 1 >= this.buf.length) break;
        if (this.buf[this.pos + 1] !== LF) throw protocol('a CR not followed by LF between frames');
        this.pos += 2;
        this.heartbeats++;
      } else {
        break;
      }
    }
    this.frameStart = this.pos;
    const line = this.readLine();
    if (line === null) return null;
    if (!/^[A-Z]+$/.test(line)) throw protocol(`'${line.slice(0, 40)}' is not a STOMP command`);
    this.command = line;
    this.headers = [];
    this.contentLength = undefined;
    this.state = 'headers';
    return undefined;
  }

  private readHeader(): undefined | null {
    const line = this.readLine();
    if (line === null) return null;
    if (line === '') {
      this.state = 'body';
      return undefined;
    }
    const colon = line.indexOf(':');
    if (colon === -1) throw protocol(`header line '${line.slice(0, 40)}' of ${this.command} has no ':'`);
    const raw = this.command === 'CONNECTED';
    const name = raw ? line.slice(0, colon) : unescape(line.slice(0, colon));
    const value = raw ? line.slice(colon + 1) : unescape(line.slice(colon + 1));
    if (name === 'content-length' && !this.headers.some(([n]) => n === 'content-length')) {
      if (!/^\d+$/.test(value.trim())) throw protocol(`${this.command} has content-length '${value}'`);
      this.contentLength = Number(value.trim());
      if (this.contentLength > this.limits.maxFrameSize) {
        throw protocol(`${this.command} announces ${this.contentLength} bytes, more than ${this.limits.maxFrameSize}`);
      }
    }
    this.headers.push([name, value]);
    return undefined;
  }

  private readBody(): Frame | null {
    let end: number;
    if (this.contentLength !== undefined) {
      end = this.pos + this.contentLength;
      if (end >= this.buf.length) return null;
      if (this.buf[end] !== NUL) throw protocol(`${this.command} body is not followed by NUL after content-length bytes`);
    } else {
      end = this.buf.indexOf(NUL, this.pos);
      if (end === -1) return null;
    }
    const body = Buffer.from(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    this.frameStart = this.pos;
    this.state = 'command';
    return { command: this.command, headers: this.headers, body };
  }

  /** A line without its EOL (LF or CRLF), or null when it is not complete yet. */
  private readLine(): string | null {
    const lf = this.buf.indexOf(LF, this.pos);
    if (lf === -1) return null;
    const end = lf > this.pos && this.buf[lf - 1] === CR ? lf - 1 : lf;
    const line = this.buf.toString('utf8', this.pos, end);
    this.pos = lf + 1;
    return line;
  }
}

/** STOMP 1.2 "Value Encoding"; any other escape is a fatal protocol error. */
function unescape(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(.?)/gs, (_, c: string) => {
    switch (c) {
      case 'r':
        return '\r';
      case 'n':
        return '\n';
      case 'c':
        return ':';
      case '\\':
        return '\\';
      default:
        throw protocol(`header has an undefined escape '\\${c}'`);
    }
  });
}

function protocol(detail: string): FailoverClientError {
  return clientError('TANDEM_ERR_PROTOCOL', `malformed frame from the server: ${detail}`);
}
