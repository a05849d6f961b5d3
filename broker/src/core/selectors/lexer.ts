// Turns selector text into tokens (JMS 1.1 section 3.8.1.1, with ActiveMQ's literal forms: hex,
// octal and an `L` suffix). Pure: text in, tokens or an invalid-selector error out.
import { invalidSelector, quoteSource } from './selector-error.js';
import { exactNumber } from './values.js';

export const KEYWORDS = ['NOT', 'AND', 'OR', 'BETWEEN', 'LIKE', 'ESCAPE', 'IN', 'IS', 'TRUE', 'FALSE', 'NULL'] as const;
export type Keyword = (typeof KEYWORDS)[number];

export type Operator = '=' | '<>' | '<' | '>' | '<=' | '>=' | '+' | '-' | '*' | '/' | '(' | ')' | ',';

interface At {
  /** UTF-16 offset of the token's first character. */
  start: number;
  /** The token as written. */
  text: string;
}

export type Token =
  | (At & { kind: 'identifier' })
  | (At & { kind: 'keyword'; keyword: Keyword })
  | (At & { kind: 'string'; value: string })
  /** Integers beyond 2^53 stay exact as bigint; every other number is a double. */
  | (At & { kind: 'number'; value: number | bigint })
  | (At & { kind: 'operator'; op: Operator })
  | (At & { kind: 'end' });

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

// Java's Character.isJavaIdentifierStart / isJavaIdentifierPart, as Unicode categories (the
// ignorable control characters Java also allows in a part are left out on purpose).
const IDENTIFIER = /[\p{L}\p{Nl}\p{Sc}\p{Pc}][\p{L}\p{Nl}\p{Sc}\p{Pc}\p{Nd}\p{Mn}\p{Mc}]*/uy;
const NUMBER_TAIL = /[0-9A-Za-z_$.]*/y;
const DECIMAL = /^[1-9][0-9]*[lL]?$/;
const OCTAL = /^0[0-7]*[lL]?$/;
const HEX = /^0[xX][0-9a-fA-F]+[lL]?$/;
const APPROXIMATE = /^(?:[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)$/;

const TWO_CHAR_OPERATORS: ReadonlySet<string> = new Set(['<>', '<=', '>=']);
const ONE_CHAR_OPERATORS: ReadonlySet<string> = new Set(['=', '<', '>', '+', '-', '*', '/', '(', ')', ',']);

/** Java's white space: space, tab, form feed and line terminators. */
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * ActiveMQ's opt-in to string conversion, which is always on here (docs/adr/0004-selectors.md);
 * skipped like white space so selectors written for ActiveMQ keep working.
 */
export const CONVERT_STRING_EXPRESSIONS_PREFIX = 'convert_string_expressions:';

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = text.startsWith(CONVERT_STRING_EXPRESSIONS_PREFIX) ? CONVERT_STRING_EXPRESSIONS_PREFIX.length : 0;
  while (i < text.length) {
    const c = text[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      const token = readString(text, start);
      tokens.push(token);
      i = start + token.text.length;
    } else if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      const token = readNumber(text, start);
      tokens.push(token);
      i = start + token.text.length;
    } else if (TWO_CHAR_OPERATORS.has(text.slice(i, i + 2))) {
      const op = text.slice(i, i + 2) as Operator;
      tokens.push({ kind: 'operator', op, start, text: op });
      i += 2;
    } else if (ONE_CHAR_OPERATORS.has(c)) {
      tokens.push({ kind: 'operator', op: c as Operator, start, text: c });
      i++;
    } else {
      IDENTIFIER.lastIndex = i;
      const match = IDENTIFIER.exec(text);
      if (match === null) throw unexpectedCharacter(text, i);
      const word = match[0];
      const upper = word.toUpperCase();
      tokens.push(
        KEYWORD_SET.has(upper)
          ? { kind: 'keyword', keyword: upper as Keyword, start, text: word }
          : { kind: 'identifier', start, text: word },
      );
      i += word.length;
    }
  }
  tokens.push({ kind: 'end', start: text.length, text: '' });
  return tokens;
}

/** A string literal: single quotes, with '' standing for one quote inside. */
function readString(text: string, start: number): Token {
  let value = '';
  let i = start + 1;
  for (;;) {
    const close = text.indexOf("'", i);
    if (close < 0) {
      throw invalidSelector(text, start, 'expected a closing quote for the string that starts here');
    }
    value += text.slice(i, close);
    if (text[close + 1] === "'") {
      value += "'";
      i = close + 2;
    } else {
      return { kind: 'string', value, start, text: text.slice(start, close + 1) };
    }
  }
}

function readNumber(text: string, start: number): Token {
  let i = start;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    while (i < text.length && /[0-9a-fA-F]/.test(text[i]!)) i++;
  } else {
    while (isDigit(text[i])) i++;
    if (text[i] === '.') {
      i++;
      while (isDigit(text[i])) i++;
    }
    const sign = text[i + 1] === '+' || text[i + 1] === '-' ? 1 : 0;
    if ((text[i] === 'e' || text[i] === 'E') && isDigit(text[i + 1 + sign])) {
      i += 1 + sign;
      while (isDigit(text[i])) i++;
    }
  }
  // Take any letters or dots stuck to the number too, so `12abc` or `1.2.3` is reported whole.
  NUMBER_TAIL.lastIndex = i;
  const run = text.slice(start, i + NUMBER_TAIL.exec(text)![0].length);
  const token = (value: number | bigint): Token => ({ kind: 'number', value, start, text: run });
  if (APPROXIMATE.test(run)) {
    const value = Number(run);
    if (!Number.isFinite(value)) {
      throw invalidSelector(text, start, `expected a number within the range of a double, found ${quoteSource(run)}`);
    }
    return token(value);
  }
  const digits = run.replace(/[lL]$/, '');
  if (DECIMAL.test(run)) return token(exactNumber(BigInt(digits)));
  if (HEX.test(run)) return token(exactNumber(BigInt(digits)));
  if (OCTAL.test(run)) return token(exactNumber(BigInt(`0o${digits.slice(1) || '0'}`)));
  if (/^0[0-9]+[lL]?$/.test(run)) {
    throw invalidSelector(text, start, `expected octal digits (0-7) after a leading 0, found ${quoteSource(run)}`);
  }
  throw invalidSelector(text, start, `expected a number, found ${quoteSource(run)}`);
}

function unexpectedCharacter(text: string, index: number): Error {
  const c = String.fromCodePoint(text.codePointAt(index)!);
  if (c === '!' && text[index + 1] === '=') {
    return invalidSelector(text, index, "expected '<>' for 'not equal', found '!='");
  }
  if (c === '"') {
    return invalidSelector(text, index, 'expected a string in single quotes, found \'"\'');
  }
  return invalidSelector(
    text,
    index,
    `expected an identifier, a literal, an operator or a parenthesis, found ${quoteSource(c)}`,
  );
}
