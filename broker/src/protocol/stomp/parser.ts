// Incremental STOMP 1.0/1.1/1.2 frame parser: a state machine fed socket chunks split anywhere,
// reporting frames, heart-beats and at most one error. It never touches a socket.
import { BrokerError, type BrokerErrorCode } from '../../errors.js';
import { DEFAULT_STOMP_LIMITS, type StompFrame, type StompLimits, type StompVersion } from './frame.js';

export interface StompParserOptions {
  limits?: Partial<StompLimits>;
  onFrame: (frame: StompFrame) => void;
  /**
   * The first error, after which input is ignored. `partial` is what was read of the offending
   * frame once its command line was whole, so the ERROR can name it and echo its `receipt`
   * (STOMP 1.2 "ERROR"); it is absent when the error came sooner.
   */
  onError: (error: BrokerError, partial?: PartialFrame) => void;
  onHeartbeat?: () => void;
}

/** The command and the headers read before a frame turned out bad (the bad line itself excluded). */
export interface PartialFrame {
  command: string;
  headers: Array<[string, string]>;
}

/**
 * Most letters a command line may hold. The longest STOMP command (UNSUBSCRIBE) has 11; the slack
 * leaves room for extensions while a non-STOMP peer (TLS, HTTP) is refused within a few bytes.
 */
export const MAX_COMMAND_LENGTH = 32;

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;

// Where the parser stands in the byte stream.
const IDLE = 0; // between frames, where each EOL is a heart-beat
const IDLE_CR = 1; // a CR between frames; only LF may follow
const COMMAND = 2; // the command line
const HEADERS = 3; // header lines, up to the blank line
const FIXED_BODY = 4; // exactly content-length bytes
const TERMINATOR = 5; // the NUL that must follow a content-length body
const SCAN_BODY = 6; // a body without content-length runs to the first NUL
const FAILED = 7; // an error was reported; all further input is ignored
type State = typeof IDLE | typeof IDLE_CR | typeof COMMAND | typeof HEADERS | typeof FIXED_BODY | typeof TERMINATOR | typeof SCAN_BODY | typeof FAILED;

// Which header escapes apply to the frame being read (STOMP 1.2 "Value Encoding").
const NO_ESCAPES = 0; // STOMP 1.0, and CONNECT/CONNECTED in every version
const ESCAPES_1_1 = 1; // \\ \n \c
const ESCAPES_1_2 = 2; // \\ \n \c \r
type Escapes = typeof NO_ESCAPES | typeof ESCAPES_1_1 | typeof ESCAPES_1_2;

const EMPTY: Buffer = Buffer.alloc(0);
const BYTE_COUNT = /^[0-9]+$/;
// A peer trickling a few bytes per packet must not cost an object per packet: past LOOSE_SLICES
// slices, those smaller than SMALL_SLICE are copied together into blocks of STAGE_SIZE.
const LOOSE_SLICES = 16;
const SMALL_SLICE = 4096;
const STAGE_SIZE = 16384;

/** Bytes of a line or body that arrive across chunks, kept until the whole is there. */
class SliceList {
  /** Bytes held. */
  length = 0;
  private readonly slices: Buffer[] = [];
  private stage: Buffer | undefined;
  private staged = 0;

  add(slice: Buffer): void {
    this.length += slice.length;
    if (slice.length >= SMALL_SLICE || (this.stage === undefined && this.slices.length < LOOSE_SLICES)) {
      this.flush();
      this.slices.push(slice);
      return;
    }
    if (this.stage === undefined || this.staged + slice.length > this.stage.length) {
      this.flush();
      this.stage = Buffer.allocUnsafe(STAGE_SIZE);
    }
    slice.copy(this.stage, this.staged);
    this.staged += slice.length;
  }

  /**
   * Everything held plus `chunk[start, end)`, as one new buffer (a copy, so no socket chunk stays
   * pinned); then empty.
   */
  take(chunk: Buffer, start: number, end: number): Buffer {
    const total = this.length + (end - start);
    if (total === 0) {
      this.clear();
      return EMPTY;
    }
    const whole = Buffer.allocUnsafe(total);
    let at = 0;
    if (this.length > 0) {
      this.flush();
      for (const slice of this.slices) {
        whole.set(slice, at);
        at += slice.length;
      }
      this.clear();
    }
    chunk.copy(whole, at, start, end);
    return whole;
  }

  clear(): void {
    // Called for every frame; most often there is nothing to clear.
    if (this.slices.length > 0) this.slices.length = 0;
    this.stage = undefined;
    this.staged = 0;
    this.length = 0;
  }

  private flush(): void {
    if (this.staged === 0) return;
    this.slices.push(this.stage!.subarray(0, this.staged));
    this.stage = undefined;
    this.staged = 0;
  }
}

/**
 * Frame sizes count every byte from the command's first letter through the closing NUL; heart-beat
 * EOLs around frames are not part of any frame.
 *
 * The parser keeps references to the chunks it is given until the frame they belong to is
 * complete, so a caller must not reuse a chunk's memory after pushing it (socket chunks are fresh).
 * Bodies are copied out, so a stored message never pins a whole socket read.
 * No push scans bytes an earlier push has scanned, and the pieces of a line or body split across
 * chunks are joined once, when it is complete.
 *
 * `version` picks the header escaping for frames not yet started; the session sets it once CONNECT
 * is answered, from inside onFrame if it likes, and the rest of the same chunk is read accordingly.
 */
export class StompParser {
  version: StompVersion = '1.0';

  private readonly options: StompParserOptions;
  private readonly limits: StompLimits;
  private state: State = IDLE;
  /** 1-based number of the frame being read, for error messages. */
  private frameNumber = 0;
  /** Bytes of the current frame consumed so far (command and header lines, with their EOLs). */
  private frameBytes = 0;
  private command = '';
  private commandBytes = 0;
  /** The command line held a CR, which only its LF may follow. */
  private commandCR = false;
  private escapes: Escapes = NO_ESCAPES;
  private headers: Array<[string, string]> = [];
  /** The first content-length header's value, or -1 when the frame has none. */
  private contentLength = -1;
  /** The start of a header line split across chunks. */
  private readonly line = new SliceList();
  private readonly body = new SliceList();
  /** The end of a content-length body, `bodyChunk[bodyStart, bodyStop)`, held until its NUL is seen. */
  private bodyChunk: Buffer = EMPTY;
  private bodyStart = 0;
  private bodyStop = 0;

  constructor(options: StompParserOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_STOMP_LIMITS, ...options.limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`STOMP limit ${name} must be a positive integer, got ${String(value)}`);
      }
    }
  }

  /** True once an error has been reported; from then on input is ignored. */
  get failed(): boolean {
    return this.state === FAILED;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    try {
      while (pos < chunk.length && this.state !== FAILED) {
        switch (this.state) {
          case IDLE: pos = this.betweenFrames(chunk, pos); break;
          case IDLE_CR: pos = this.afterCarriageReturn(chunk, pos); break;
          case COMMAND: pos = this.readCommand(chunk, pos); break;
          case HEADERS: pos = this.readHeaderLine(chunk, pos); break;
          case FIXED_BODY: pos = this.readFixedBody(chunk, pos); break;
          case TERMINATOR: pos = this.readTerminator(chunk, pos); break;
          case SCAN_BODY: pos = this.scanBody(chunk, pos); break;
        }
      }
    } catch (error) {
      // A callback threw, and the rest of this chunk is lost with the stack: carrying on would
      // read a frame from its middle, so the stream is finished here.
      this.release(FAILED);
      throw error;
    }
  }

  private betweenFrames(chunk: Buffer, pos: number): number {
    const byte = chunk[pos];
    if (byte === LF) {
      this.options.onHeartbeat?.();
      return pos + 1;
    }
    if (byte === CR) {
      this.state = IDLE_CR;
      return pos + 1;
    }
    this.frameNumber++;
    this.frameBytes = 0;
    this.command = '';
    this.commandBytes = 0;
    this.commandCR = false;
    this.headers = [];
    this.contentLength = -1;
    this.state = COMMAND;
    return pos;
  }

  private afterCarriageReturn(chunk: Buffer, pos: number): number {
    if (chunk[pos] !== LF) {
      return this.fail('TANDEM_ERR_MALFORMED_FRAME', `before frame ${this.frameNumber + 1}: a carriage return is not followed by a line feed`);
    }
    this.state = IDLE;
    this.options.onHeartbeat?.();
    return pos + 1;
  }

  // Checked byte by byte, so a peer speaking another protocol is refused at its first odd byte.
  private readCommand(chunk: Buffer, pos: number): number {
    for (let i = pos; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF) {
        this.frameBytes += this.commandBytes + 1;
        const exempt = this.command === 'CONNECT' || this.command === 'CONNECTED' || this.command === 'STOMP';
        // CONNECT and CONNECTED are never escaped, so a 1.0 peer can read them; STOMP is CONNECT by
        // another name and, like it, arrives before any version is agreed.
        this.escapes = exempt || this.version === '1.0' ? NO_ESCAPES : this.version === '1.1' ? ESCAPES_1_1 : ESCAPES_1_2;
        this.state = HEADERS;
        return i + 1;
      }
      this.commandBytes++;
      if (this.commandCR) {
        return this.fail('TANDEM_ERR_MALFORMED_FRAME', `frame ${this.frameNumber}: a carriage return inside the command line`);
      }
      if (byte === CR) {
        this.commandCR = true;
      } else if (!isLetter(byte)) {
        return this.fail(
          'TANDEM_ERR_MALFORMED_FRAME',
          `frame ${this.frameNumber}: the command line has ${describeByte(byte)} at column ${this.commandBytes}; a command is letters A-Z (the session rejects unknown ones)`,
        );
      } else if (this.command.length === MAX_COMMAND_LENGTH) {
        return this.fail('TANDEM_ERR_MALFORMED_FRAME', `frame ${this.frameNumber}: the command line is longer than ${MAX_COMMAND_LENGTH} letters`);
      } else {
        this.command += String.fromCharCode(byte);
      }
    }
    return chunk.length;
  }

  private readHeaderLine(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    if (lf === -1) {
      this.line.add(chunk.subarray(pos));
      // One byte of slack: the line's last byte may yet prove to be the CR of its EOL.
      if (this.line.length > this.limits.maxHeaderLength + 1) return this.failLineTooLong();
      return chunk.length;
    }
    let line = chunk;
    let start = pos;
    let end = lf;
    if (this.line.length > 0) {
      line = this.line.take(chunk, pos, lf);
      start = 0;
      end = line.length;
    }
    this.frameBytes += end - start + 1;
    if (end > start && line[end - 1] === CR) end--;
    if (end === start) this.endHeaders();
    else this.headerLine(line, start, end);
    return lf + 1;
  }

  // The checks run in one fixed order, so the same bytes give the same error however they are split.
  private headerLine(line: Buffer, start: number, end: number): void {
    const lineNumber = this.headers.length + 1;
    if (end - start > this.limits.maxHeaderLength) {
      this.failLineTooLong();
      return;
    }
    if (lineNumber > this.limits.maxHeaders) {
      this.fail('TANDEM_ERR_TOO_MANY_HEADERS', `${this.where()} has more than ${this.limits.maxHeaders} headers (maxHeaders)`);
      return;
    }
    // The frame still needs at least a blank line and its NUL.
    if (this.frameBytes + 2 > this.limits.maxFrameSize) {
      this.failTooLarge();
      return;
    }
    // One string per line, split in JS: a colon byte is always a colon character in UTF-8.
    const text = line.toString('utf8', start, end);
    const colon = text.indexOf(':');
    if (colon === -1) {
      this.fail('TANDEM_ERR_MALFORMED_FRAME', `${this.where()}: header line ${lineNumber} has no colon`);
      return;
    }
    if (colon === 0) {
      this.fail('TANDEM_ERR_MALFORMED_FRAME', `${this.where()}: header line ${lineNumber} has an empty name`);
      return;
    }
    // Everything after the first colon is the value: 1.0 allows colons there, and lenient 1.1/1.2
    // clients send them unescaped (ActiveMQ message ids are full of them).
    let name = text.slice(0, colon);
    let value = text.slice(colon + 1);
    if (this.escapes !== NO_ESCAPES && text.includes('\\')) {
      const allowCR = this.escapes === ESCAPES_1_2;
      const decodedName = decodeEscapes(name, allowCR);
      const decodedValue = decodeEscapes(value, allowCR);
      if (decodedName === undefined || decodedValue === undefined) {
        const bad = describeBadEscape(decodedName === undefined ? name : value, allowCR);
        this.fail('TANDEM_ERR_MALFORMED_FRAME', `${this.where()}: header line ${lineNumber} ${bad} (STOMP ${this.version})`);
        return;
      }
      name = decodedName;
      value = decodedValue;
    }
    name = internName(name);
    // Repeated headers: the first one is the frame's content-length, as header() reads it.
    if (name === 'content-length' && this.contentLength === -1) {
      if (!BYTE_COUNT.test(value)) {
        this.fail('TANDEM_ERR_MALFORMED_FRAME', `${this.where()}: header line ${lineNumber} has content-length ${quote(value)}, which is not a byte count`);
        return;
      }
      this.contentLength = Number(value);
      if (this.frameBytes + this.contentLength + 2 > this.limits.maxFrameSize) {
        this.failContentTooLarge();
        return;
      }
    }
    this.headers.push([name, value]);
  }

  private endHeaders(): void {
    if (this.contentLength >= 0) {
      if (this.frameBytes + this.contentLength + 1 > this.limits.maxFrameSize) {
        this.failContentTooLarge();
        return;
      }
      this.state = this.contentLength === 0 ? TERMINATOR : FIXED_BODY;
      return;
    }
    if (this.frameBytes + 1 > this.limits.maxFrameSize) {
      this.failTooLarge();
      return;
    }
    this.state = SCAN_BODY;
  }

  private readFixedBody(chunk: Buffer, pos: number): number {
    const end = pos + (this.contentLength - this.body.length);
    if (end > chunk.length) {
      this.body.add(chunk.subarray(pos));
      return chunk.length;
    }
    this.bodyChunk = chunk;
    this.bodyStart = pos;
    this.bodyStop = end;
    this.state = TERMINATOR;
    return end;
  }

  private readTerminator(chunk: Buffer, pos: number): number {
    const byte = chunk[pos]!;
    if (byte !== NUL) {
      return this.fail(
        'TANDEM_ERR_MALFORMED_FRAME',
        `${this.where()}: the body of content-length ${this.contentLength} is followed by ${describeByte(byte)} instead of a NUL`,
      );
    }
    this.emit(this.bodyChunk, this.bodyStart, this.bodyStop);
    return pos + 1;
  }

  private scanBody(chunk: Buffer, pos: number): number {
    const nul = chunk.indexOf(NUL, pos);
    const end = nul === -1 ? chunk.length : nul;
    // Checked before keeping anything, so a body with no NUL in sight never outgrows the limit.
    if (this.frameBytes + this.body.length + (end - pos) + 1 > this.limits.maxFrameSize) return this.failTooLarge();
    if (nul === -1) {
      this.body.add(chunk.subarray(pos));
      return chunk.length;
    }
    this.emit(chunk, pos, nul);
    return nul + 1;
  }

  private emit(chunk: Buffer, start: number, end: number): void {
    const body = this.body.take(chunk, start, end);
    const frame: StompFrame = { command: this.command, headers: this.headers, body };
    this.headers = [];
    this.release(IDLE);
    this.options.onFrame(frame);
  }

  private release(state: State): void {
    this.state = state;
    this.bodyChunk = EMPTY;
    this.bodyStart = this.bodyStop = 0;
    this.body.clear();
    this.line.clear();
  }

  /** Reports the error and stops the parser; returns an offset that ends the current chunk's loop. */
  private fail(code: BrokerErrorCode, message: string): number {
    const partial = this.state === IDLE_CR || this.state === COMMAND ? undefined : { command: this.command, headers: this.headers };
    this.headers = [];
    this.release(FAILED);
    this.options.onError(new BrokerError(code, message), partial);
    return Number.MAX_SAFE_INTEGER;
  }

  private failLineTooLong(): number {
    return this.fail(
      'TANDEM_ERR_HEADER_TOO_LONG',
      `${this.where()}: header line ${this.headers.length + 1} is longer than ${this.limits.maxHeaderLength} bytes (maxHeaderLength)`,
    );
  }

  private failTooLarge(): number {
    return this.fail('TANDEM_ERR_FRAME_TOO_LARGE', `${this.where()} is larger than ${this.limits.maxFrameSize} bytes (maxFrameSize)`);
  }

  private failContentTooLarge(): number {
    return this.fail(
      'TANDEM_ERR_FRAME_TOO_LARGE',
      `${this.where()}: content-length ${this.contentLength} makes the frame larger than ${this.limits.maxFrameSize} bytes (maxFrameSize)`,
    );
  }

  private where(): string {
    return `frame ${this.frameNumber} (${this.command})`;
  }
}

/**
 * The engine's own (internalized) copy of a header name. Names become object keys downstream (the
 * headers a message carries, set lookups); with a string freshly cut from a frame each such access
 * takes the engine's slow path. Clients repeat the same few names, so a small table covers them;
 * past its size, names are used as they are, so a peer inventing names cannot grow it.
 */
const NAMES = new Map<string, string>();
const MAX_NAMES = 2048;
function internName(name: string): string {
  const known = NAMES.get(name);
  if (known !== undefined) return known;
  if (NAMES.size >= MAX_NAMES) return name;
  const interned = Object.keys({ [name]: true })[0]!;
  NAMES.set(interned, interned);
  return interned;
}

/** Applies the STOMP 1.1/1.2 header escapes; undefined when the text holds an undefined escape. */
function decodeEscapes(text: string, allowCR: boolean): string | undefined {
  let slash = text.indexOf('\\');
  if (slash === -1) return text;
  let decoded = '';
  let from = 0;
  while (slash !== -1) {
    const next = text.charCodeAt(slash + 1);
    let replacement: string;
    if (next === 0x6e) replacement = '\n';
    else if (next === 0x63) replacement = ':';
    else if (next === 0x5c) replacement = '\\';
    else if (next === 0x72 && allowCR) replacement = '\r';
    else return undefined;
    decoded += text.slice(from, slash) + replacement;
    from = slash + 2;
    slash = text.indexOf('\\', from);
  }
  return decoded + text.slice(from);
}

function describeBadEscape(text: string, allowCR: boolean): string {
  const defined = allowCR ? 'nc\\r' : 'nc\\';
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i + 2)) {
    if (i + 1 === text.length) return 'ends in a lone backslash';
    const next = text.charCodeAt(i + 1);
    if (!defined.includes(text.charAt(i + 1))) {
      const sequence = next >= 0x20 && next < 0x7f ? `"\\${text.charAt(i + 1)}"` : `\\ and U+${next.toString(16).toUpperCase().padStart(4, '0')}`;
      return `has the undefined escape sequence ${sequence}`;
    }
  }
  return 'has an undefined escape sequence';
}

function describeByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return byte >= 0x20 && byte < 0x7f ? `byte ${hex} (${quote(String.fromCharCode(byte))})` : `byte ${hex}`;
}

/** Peer-supplied text in a message: quoted, control characters escaped, and cut short. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/** Commands are letters; a well-formed but unknown or lower-case one is the session's to reject, as UNKNOWN_COMMAND. */
function isLetter(byte: number): boolean {
  return (byte >= UPPER_A && byte <= UPPER_Z) || (byte >= UPPER_A + 32 && byte <= UPPER_Z + 32);
}
