// How a bad selector is reported: one BrokerError code, a 1-based column and what was expected,
// so a client can fix its SUBSCRIBE from the ERROR frame alone.
import { BrokerError } from '../../errors.js';

/** Longest selector accepted, in UTF-16 code units (a `selector` header is one line of text). */
export const MAX_SELECTOR_LENGTH = 4096;
/** Deepest expression tree accepted; compiling and evaluating recurse once per level. */
export const MAX_SELECTOR_DEPTH = 100;

// The whole selector is quoted when short; a long one is cut to a window around the fault, so
// a 4 KiB selector does not make a 4 KiB ERROR frame header.
const QUOTE_WHOLE_UP_TO = 120;
const WINDOW = 50;

/** `invalid selector at column N: <detail> in "<text>"`; `index` is a UTF-16 offset into `text`. */
export function invalidSelector(text: string, index: number, detail: string): BrokerError {
  return new BrokerError(
    'TANDEM_ERR_INVALID_SELECTOR',
    `invalid selector at column ${columnOf(text, index)}: ${detail} in "${excerpt(text, index)}"`,
  );
}

/** Columns count characters (code points), not UTF-16 units, so they match what a person sees. */
export function columnOf(text: string, index: number): number {
  let column = 1;
  for (let i = 0; i < index && i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by its low half is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    column++;
  }
  return column;
}

function excerpt(text: string, index: number): string {
  if (text.length <= QUOTE_WHOLE_UP_TO) return text;
  const from = Math.max(0, index - WINDOW);
  const to = Math.min(text.length, index + WINDOW);
  return `${from > 0 ? '...' : ''}${text.slice(from, to)}${to < text.length ? '...' : ''}`;
}

/** Source text as it appears in a message: quoted, and shortened when long. */
export function quoteSource(source: string): string {
  return `'${source.length > 40 ? `${source.slice(0, 37)}...` : source}'`;
}
