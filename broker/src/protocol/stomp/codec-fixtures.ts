// Byte-level STOMP frames shared by the parser and serializer tests: each well-formed fixture is
// wire bytes (one field a line) with the frame they mean; each malformed one, the error it must give.
import type { BrokerErrorCode } from '../../errors.js';
import type { StompFrame, StompLimits, StompVersion } from './frame.js';

/** Joins wire fields: strings are UTF-8, number arrays are raw bytes. */
export function wire(...fields: Array<string | number[] | Buffer>): Buffer {
  return Buffer.concat(fields.map((field) => (typeof field === 'string' ? Buffer.from(field, 'utf8') : Buffer.from(field))));
}

export function frame(command: string, headers: Array<[string, string]>, body: string | Buffer = ''): StompFrame {
  return { command, headers, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body };
}

export interface CodecFixture {
  name: string;
  /** The version the session has negotiated when these bytes arrive (or are written). */
  version: StompVersion;
  bytes: Buffer;
  frame: StompFrame;
  /** serializeFrame(frame, version) writes exactly `bytes`. */
  canonical: boolean;
}

const NUL = [0x00];

export const FIXTURES: CodecFixture[] = [
  {
    name: 'CONNECT with accept-version, host and heart-beat',
    version: '1.0', // nothing is negotiated before CONNECT
    bytes: wire(
      'CONNECT\n', //                command
      'accept-version:1.0,1.1,1.2\n', // header
      'host:broker.example\n', //    header
      'heart-beat:10000,10000\n', // header
      '\n', //                       end of headers
      NUL, //                        end of frame, no body
    ),
    frame: frame('CONNECT', [
      ['accept-version', '1.0,1.1,1.2'],
      ['host', 'broker.example'],
      ['heart-beat', '10000,10000'],
    ]),
    canonical: true,
  },
  {
    name: 'CONNECT in a 1.2 session keeps backslashes and colons as they are',
    version: '1.2',
    bytes: wire(
      'CONNECT\n', //            command
      'login:guest\n', //        header
      'passcode:a\\tb:c\n', //   backslash-t and a colon: not escapes, since CONNECT is never escaped
      '\n', //                   end of headers
      NUL, //                    end of frame
    ),
    frame: frame('CONNECT', [
      ['login', 'guest'],
      ['passcode', 'a\\tb:c'],
    ]),
    canonical: true,
  },
  {
    name: 'STOMP, the 1.2 name for CONNECT, is not escaped either',
    version: '1.2',
    bytes: wire(
      'STOMP\n', //                 command
      'accept-version:1.2\n', //    header
      'host:a\\b\n', //             a raw backslash
      '\n', //                      end of headers
      NUL, //                       end of frame
    ),
    frame: frame('STOMP', [
      ['accept-version', '1.2'],
      ['host', 'a\\b'],
    ]),
    canonical: true,
  },
  {
    name: 'CONNECTED with a session id full of colons',
    version: '1.2',
    bytes: wire(
      'CONNECTED\n', //                   command
      'version:1.2\n', //                 header
      'session:ID:host-1:42:1\n', //      colons in the value, unescaped as CONNECTED requires
      'server:TandemMQ/0.1.0\n', //       header
      'heart-beat:0,0\n', //              header
      '\n', //                            end of headers
      NUL, //                             end of frame
    ),
    frame: frame('CONNECTED', [
      ['version', '1.2'],
      ['session', 'ID:host-1:42:1'],
      ['server', 'TandemMQ/0.1.0'],
      ['heart-beat', '0,0'],
    ]),
    canonical: true,
  },
  {
    name: 'SEND with content-length and a text body',
    version: '1.2',
    bytes: wire(
      'SEND\n', //                   command
      'destination:/queue/a\n', //   header
      'content-type:text/plain\n', // header
      'content-length:13\n', //      header: the body's byte count
      '\n', //                       end of headers
      'hello queue a', //            body, 13 bytes
      NUL, //                        end of frame
    ),
    frame: frame(
      'SEND',
      [
        ['destination', '/queue/a'],
        ['content-type', 'text/plain'],
        ['content-length', '13'],
      ],
      'hello queue a',
    ),
    canonical: true,
  },
  {
    name: 'SEND without content-length: the body runs to the first NUL',
    version: '1.0',
    bytes: wire(
      'SEND\n', //                 command
      'destination:/queue/a\n', // header
      '\n', //                     end of headers
      'hello\nworld', //           body, with a line feed inside
      NUL, //                      end of frame
    ),
    frame: frame('SEND', [['destination', '/queue/a']], 'hello\nworld'),
    canonical: false, // the serializer adds content-length
  },
  {
    name: 'MESSAGE with a binary body holding NULs',
    version: '1.2',
    bytes: wire(
      'MESSAGE\n', //                     command
      'subscription:0\n', //              header
      'message-id:007\n', //              header
      'destination:/queue/bin\n', //      header
      'content-type:application/octet-stream\n', // header
      'content-length:6\n', //            header
      '\n', //                            end of headers
      [0x00, 0xff, 0x00, 0x0a, 0x00, 0x01], // body: NULs, a line feed, a high byte
      NUL, //                             end of frame
    ),
    frame: frame(
      'MESSAGE',
      [
        ['subscription', '0'],
        ['message-id', '007'],
        ['destination', '/queue/bin'],
        ['content-type', 'application/octet-stream'],
        ['content-length', '6'],
      ],
      Buffer.from([0x00, 0xff, 0x00, 0x0a, 0x00, 0x01]),
    ),
    canonical: true,
  },
  {
    name: 'STOMP 1.2 escapes in names and values: \\r \\n \\c \\\\',
    version: '1.2',
    bytes: wire(
      'MESSAGE\n', //                        command
      'a\\cb:c\\cd\n', //                    name "a:b", value "c:d"
      'lines:one\\ntwo\\r\\nthree\n', //     value "one<LF>two<CR><LF>three"
      'path:C\\\\temp\n', //                 value "C\temp" with one backslash
      '\n', //                               end of headers
      NUL, //                                end of frame
    ),
    frame: frame('MESSAGE', [
      ['a:b', 'c:d'],
      ['lines', 'one\ntwo\r\nthree'],
      ['path', 'C\\temp'],
    ]),
    canonical: true,
  },
  {
    name: 'STOMP 1.1 escapes: \\n \\c \\\\',
    version: '1.1',
    bytes: wire(
      'SEND\n', //                 command
      'destination:/queue/a\n', // header
      'json:{"k"\\c"v\\\\n"}\n', // value {"k":"v\n"} with a literal backslash-n
      'multi:a\\nb\n', //          value "a<LF>b"
      '\n', //                     end of headers
      NUL, //                      end of frame
    ),
    frame: frame('SEND', [
      ['destination', '/queue/a'],
      ['json', '{"k":"v\\n"}'],
      ['multi', 'a\nb'],
    ]),
    canonical: true,
  },
  {
    name: 'STOMP 1.0 has no escapes: backslashes and colons stay as they are',
    version: '1.0',
    bytes: wire(
      'SEND\n', //                     command
      'destination:/queue/a\n', //     header
      'note:a\\nb\\cc:d\n', //         value taken literally, colon included
      '\n', //                         end of headers
      NUL, //                          end of frame
    ),
    frame: frame('SEND', [
      ['destination', '/queue/a'],
      ['note', 'a\\nb\\cc:d'],
    ]),
    canonical: true,
  },
  {
    name: 'CRLF line endings',
    version: '1.2',
    bytes: wire(
      'SEND\r\n', //                 command, CR LF
      'destination:/queue/a\r\n', // header, CR LF
      'content-length:2\r\n', //     header, CR LF
      '\r\n', //                     end of headers, CR LF
      'hi', //                       body
      NUL, //                        end of frame
    ),
    frame: frame(
      'SEND',
      [
        ['destination', '/queue/a'],
        ['content-length', '2'],
      ],
      'hi',
    ),
    canonical: false, // the serializer writes LF alone
  },
  {
    name: 'repeated headers are all kept, in order',
    version: '1.2',
    bytes: wire(
      'MESSAGE\n', //  command
      'foo:World\n', // first foo: the one header() returns
      'foo:Hello\n', // second foo: history
      'bar:\n', //     an empty value
      '\n', //         end of headers
      NUL, //          end of frame
    ),
    frame: frame('MESSAGE', [
      ['foo', 'World'],
      ['foo', 'Hello'],
      ['bar', ''],
    ]),
    canonical: true,
  },
  {
    name: 'UTF-8 headers and body',
    version: '1.2',
    bytes: wire(
      'SEND\n', //                     command
      'destination:/queue/ünï\n', //   header with two-byte characters
      'emoji:✓ 🚀\n', //               header with three- and four-byte characters
      'content-length:7\n', //         header: 7 bytes, not 5 characters
      '\n', //                         end of headers
      'héllo!', //                     body, 7 bytes
      NUL, //                          end of frame
    ),
    frame: frame(
      'SEND',
      [
        ['destination', '/queue/ünï'],
        ['emoji', '✓ 🚀'],
        ['content-length', '7'],
      ],
      'héllo!',
    ),
    canonical: true,
  },
  {
    name: 'DISCONNECT with a receipt and no body',
    version: '1.1',
    bytes: wire(
      'DISCONNECT\n', // command
      'receipt:77\n', // header
      '\n', //           end of headers
      NUL, //            end of frame
    ),
    frame: frame('DISCONNECT', [['receipt', '77']]),
    canonical: true,
  },
  {
    name: 'content-length:0 and an empty body',
    version: '1.2',
    bytes: wire(
      'SEND\n', //                 command
      'destination:/queue/a\n', // header
      'content-length:0\n', //     header
      '\n', //                     end of headers
      NUL, //                      end of frame
    ),
    frame: frame('SEND', [
      ['destination', '/queue/a'],
      ['content-length', '0'],
    ]),
    canonical: true,
  },
  {
    name: 'an unknown but well-formed command is passed on',
    version: '1.2',
    bytes: wire(
      'FROBNICATE\n', // command the session will refuse
      'x:1\n', //        header
      '\n', //           end of headers
      NUL, //            end of frame
    ),
    frame: frame('FROBNICATE', [['x', '1']]),
    canonical: true,
  },
  {
    name: 'a frame with no headers at all',
    version: '1.0',
    bytes: wire(
      'COMMIT\n', // command
      '\n', //       end of headers
      NUL, //        end of frame
    ),
    frame: frame('COMMIT', []),
    canonical: true,
  },
  {
    name: 'the first content-length rules; later ones are history',
    version: '1.2',
    bytes: wire(
      'SEND\n', //                 command
      'content-length:3\n', //     the body's length
      'content-length:oops\n', //  a repeat, not read
      '\n', //                     end of headers
      'a\0b', //                   body with a NUL
      NUL, //                      end of frame
    ),
    frame: frame(
      'SEND',
      [
        ['content-length', '3'],
        ['content-length', 'oops'],
      ],
      'a\0b',
    ),
    canonical: true,
  },
];

export interface MalformedFixture {
  name: string;
  version: StompVersion;
  limits?: Partial<StompLimits>;
  bytes: Buffer;
  /** Frames that come whole before the error. */
  framesBefore: number;
  code: BrokerErrorCode;
  message: string;
}

const GOOD = wire('SEND\n', 'destination:/queue/a\n', '\n', 'ok', NUL);

export const MALFORMED: MalformedFixture[] = [
  {
    name: 'a digit in the command',
    version: '1.2',
    bytes: wire('SEND2\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1: the command line has byte 0x32 ("2") at column 5; a command is letters A-Z (the session rejects unknown ones)',
  },
  {
    name: 'an HTTP request (at its first space)',
    version: '1.0',
    bytes: wire('GET / HTTP/1.1\r\n', 'Host: example\r\n', '\r\n'),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1: the command line has byte 0x20 (" ") at column 4; a command is letters A-Z (the session rejects unknown ones)',
  },
  {
    name: 'a TLS ClientHello (at its first byte)',
    version: '1.0',
    bytes: wire([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1: the command line has byte 0x16 at column 1; a command is letters A-Z (the session rejects unknown ones)',
  },
  {
    name: 'a command line that is too long',
    version: '1.2',
    bytes: wire('A'.repeat(40) + '\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1: the command line is longer than 32 letters',
  },
  {
    name: 'a carriage return inside the command line',
    version: '1.2',
    bytes: wire('SE\rND\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1: a carriage return inside the command line',
  },
  {
    name: 'a carriage return between frames without its line feed',
    version: '1.2',
    bytes: wire(GOOD, '\r', 'SEND\n', '\n', NUL),
    framesBefore: 1,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'before frame 2: a carriage return is not followed by a line feed',
  },
  {
    name: 'a header line without a colon (in the third frame)',
    version: '1.2',
    bytes: wire(GOOD, GOOD, 'SEND\n', 'destination:/queue/a\n', 'receipt:1\n', 'nocolon\n', '\n', NUL),
    framesBefore: 2,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 3 (SEND): header line 3 has no colon',
  },
  {
    name: 'a header line with an empty name',
    version: '1.0',
    bytes: wire('SEND\n', ':value\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1 (SEND): header line 1 has an empty name',
  },
  {
    name: 'an undefined escape in a 1.2 value',
    version: '1.2',
    bytes: wire('SEND\n', 'destination:/queue/a\n', 'x:tab\\there\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1 (SEND): header line 2 has the undefined escape sequence "\\t" (STOMP 1.2)',
  },
  {
    name: 'an undefined escape in a 1.2 name, after an escaped backslash',
    version: '1.2',
    bytes: wire('SEND\n', 'a\\\\\\x:1\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1 (SEND): header line 1 has the undefined escape sequence "\\x" (STOMP 1.2)',
  },
  {
    name: 'the escape \\r, which STOMP 1.1 does not define,',
    version: '1.1',
    bytes: wire('SEND\n', 'x:a\\rb\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1 (SEND): header line 1 has the undefined escape sequence "\\r" (STOMP 1.1)',
  },
  {
    name: 'a value ending in a lone backslash',
    version: '1.1',
    bytes: wire('SEND\n', 'x:abc\\\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1 (SEND): header line 1 ends in a lone backslash (STOMP 1.1)',
  },
  ...['abc', '-1', '1.5', '', ' 5', '0x10'].map(
    (value): MalformedFixture => ({
      name: `content-length ${JSON.stringify(value)}`,
      version: '1.2',
      bytes: wire('SEND\n', 'destination:/queue/a\n', `content-length:${value}\n`, '\n', NUL),
      framesBefore: 0,
      code: 'TANDEM_ERR_MALFORMED_FRAME',
      message: `frame 1 (SEND): header line 2 has content-length ${JSON.stringify(value)}, which is not a byte count`,
    }),
  ),
  {
    name: 'no NUL after a content-length body',
    version: '1.2',
    bytes: wire('SEND\n', 'content-length:2\n', '\n', 'abc', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_MALFORMED_FRAME',
    message: 'frame 1 (SEND): the body of content-length 2 is followed by byte 0x63 ("c") instead of a NUL',
  },
  {
    name: 'more headers than maxHeaders',
    version: '1.2',
    limits: { maxHeaders: 2 },
    bytes: wire('SEND\n', 'a:1\n', 'b:2\n', 'c:3\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_TOO_MANY_HEADERS',
    message: 'frame 1 (SEND) has more than 2 headers (maxHeaders)',
  },
  {
    name: 'a header line longer than maxHeaderLength',
    version: '1.2',
    limits: { maxHeaderLength: 8 },
    bytes: wire('SEND\n', 'a:1\n', 'abc:12345\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_HEADER_TOO_LONG',
    message: 'frame 1 (SEND): header line 2 is longer than 8 bytes (maxHeaderLength)',
  },
  {
    name: 'a header line far longer than maxHeaderLength, with no end in sight',
    version: '1.2',
    limits: { maxHeaderLength: 8 },
    bytes: wire('SEND\n', 'x:' + 'y'.repeat(100)),
    framesBefore: 0,
    code: 'TANDEM_ERR_HEADER_TOO_LONG',
    message: 'frame 1 (SEND): header line 1 is longer than 8 bytes (maxHeaderLength)',
  },
  {
    name: 'a content-length announcing more than maxFrameSize',
    version: '1.2',
    limits: { maxFrameSize: 64 },
    bytes: wire('SEND\n', 'content-length:1000\n'),
    framesBefore: 0,
    code: 'TANDEM_ERR_FRAME_TOO_LARGE',
    message: 'frame 1 (SEND): content-length 1000 makes the frame larger than 64 bytes (maxFrameSize)',
  },
  {
    name: 'a body without content-length that outgrows maxFrameSize, with no NUL in sight',
    version: '1.2',
    limits: { maxFrameSize: 64 },
    bytes: wire('SEND\n', '\n', 'z'.repeat(200)),
    framesBefore: 0,
    code: 'TANDEM_ERR_FRAME_TOO_LARGE',
    message: 'frame 1 (SEND) is larger than 64 bytes (maxFrameSize)',
  },
  {
    name: 'headers alone that outgrow maxFrameSize',
    version: '1.2',
    limits: { maxFrameSize: 32 },
    bytes: wire('SEND\n', 'aaaaaaaaaa:1\n', 'bbbbbbbbbb:2\n', 'cccccccccc:3\n', '\n', NUL),
    framesBefore: 0,
    code: 'TANDEM_ERR_FRAME_TOO_LARGE',
    message: 'frame 1 (SEND) is larger than 32 bytes (maxFrameSize)',
  },
];
