// STOMP frame serializer, the parser's mirror: escapes header text for the session's version, adds
// content-length when a body needs one, and closes the frame with NUL. Bytes out, nothing else.
import { BrokerError } from '../../errors.js';
import { header, type StompFrame, type StompVersion } from './frame.js';

/** What a sender writes when it has no frame to send but owes the peer a heart-beat. */
export const HEARTBEAT_EOL = Buffer.from('\n');

const COMMAND = /^[A-Z]+$/;
const BYTE_COUNT = /^[0-9]+$/;
// STOMP 1.1 escapes backslash, LF and colon; 1.2 adds CR (STOMP 1.2 "Value Encoding").
const ESCAPE_1_1 = /[\\\n:]/g;
const ESCAPE_1_2 = /[\\\r\n:]/g;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const LF = 0x0a;
const CR = 0x0d;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', ':': '\\c', '\r': '\\r' };
// Where nothing is escaped, these would end the header line or split it in the wrong place.
const BREAKS_NAME = /[\r\n:]/;
const BREAKS_VALUE = /[\r\n]/;
const LINE_BREAK_RUNS = /[\r\n]+/g;

/** Whether a header name would break its line where nothing is escaped (STOMP 1.0): it cannot be written. */
export function breaksUnescapedName(name: string): boolean {
  return BREAKS_NAME.test(name);
}

/** The text with each run of line breaks made one space: a value STOMP 1.0 can carry. */
export function withoutLineBreaks(text: string): string {
  return BREAKS_VALUE.test(text) ? text.replace(LINE_BREAK_RUNS, ' ') : text;
}

/**
 * Escapes a header name or value for a frame other than CONNECT/CONNECTED. STOMP 1.0 has no
 * escaping; STOMP 1.1 cannot escape CR, which is legal there as itself and so is written raw.
 */
export function escapeHeader(text: string, version: StompVersion): string {
  if (version === '1.2') return needsEscape(text, true) ? text.replace(ESCAPE_1_2, escapeChar) : text;
  if (version === '1.1') return needsEscape(text, false) ? text.replace(ESCAPE_1_1, escapeChar) : text;
  return text;
}

// Every header of every frame out passes here, and most need nothing: a plain loop over the
// characters answers that sooner than a regular expression does.
function needsEscape(text: string, cr: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON || c === BACKSLASH || c === LF || (cr && c === CR)) return true;
  }
  return false;
}

function escapeChar(char: string): string {
  return ESCAPED[char]!;
}

/**
 * Writes one frame. A content-length header is added after the others when the body is not empty
 * and the frame has none, so a body may hold NULs.
 *
 * Throws BrokerError TANDEM_ERR_INVALID_HEADER when a header cannot be written in this version
 * (a line feed or carriage return in STOMP 1.0 or in CONNECT/CONNECTED, a colon in such a name, an
 * empty name) or when the frame's content-length disagrees with its body. Throws TypeError for a
 * command that is not upper-case letters, which only a bug in the broker can produce.
 */
export function serializeFrame(frame: StompFrame, version: StompVersion): Buffer {
  const { command, headers, body } = frame;
  if (!COMMAND.test(command)) throw new TypeError(`cannot serialize a frame with command ${JSON.stringify(command)}`);
  const escaped = version !== '1.0' && command !== 'CONNECT' && command !== 'CONNECTED' && command !== 'STOMP';
  let head = command + '\n';
  for (const [name, value] of headers) {
    if (name === '') throw invalidHeader(`a ${command} frame has a header with an empty name`);
    if (escaped) {
      head += escapeHeader(name, version) + ':' + escapeHeader(value, version) + '\n';
    } else {
      if (BREAKS_NAME.test(name) || BREAKS_VALUE.test(value)) {
        const where = version === '1.0' ? 'STOMP 1.0' : `a ${command} frame`;
        const what = BREAKS_NAME.test(name) ? 'its name holds a line break or a colon' : 'its value holds a line break';
        throw invalidHeader(`header ${JSON.stringify(name)} cannot be written in ${where}, which has no escaping: ${what}`);
      }
      head += name + ':' + value + '\n';
    }
  }
  const declared = header(frame, 'content-length');
  if (declared !== undefined) {
    if (!BYTE_COUNT.test(declared) || Number(declared) !== body.length) {
      throw invalidHeader(`a ${command} frame declares content-length ${JSON.stringify(declared)} but its body has ${body.length} bytes`);
    }
  } else if (body.length > 0) {
    head += `content-length:${body.length}\n`;
  }
  head += '\n';

  const headLength = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headLength + body.length + 1);
  out.write(head, 0, headLength, 'utf8');
  body.copy(out, headLength);
  out[out.length - 1] = 0;
  return out;
}

function invalidHeader(message: string): BrokerError {
  return new BrokerError('TANDEM_ERR_INVALID_HEADER', message);
}
