// Run-time values and their coercions under SQL three-valued logic: `null` is both an absent
// property and UNKNOWN. STOMP headers are strings, so a string meeting a number is converted when
// it is a valid number, and a string meeting a boolean when it is `true` or `false` (ActiveMQ's
// string conversion); anything that cannot be converted is UNKNOWN, never an error.

/** Numbers are doubles, except integers beyond 2^53, which stay exact as bigint. */
export type Num = number | bigint;
export type Value = string | Num | boolean | null;
/** A condition's result: TRUE, FALSE or UNKNOWN. */
export type Truth = boolean | null;

/** Safe integers become doubles so the common case stays on the fast path. */
export function exactNumber(value: bigint): Num {
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const INTEGER_TEXT = /^[+-]?[0-9]+$/;
const DECIMAL_TEXT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * Decimal text as Java's Long.valueOf or Double.valueOf would read it (leading zeros are decimal
 * here, unlike in a selector literal); no surrounding spaces, no hex, no NaN or Infinity.
 */
export function parseNumber(text: string): Num | null {
  if (INTEGER_TEXT.test(text)) {
    const value = Number(text);
    return Number.isSafeInteger(value) ? value : exactNumber(BigInt(text));
  }
  if (!DECIMAL_TEXT.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function toNumber(value: Value): Num | null {
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (typeof value === 'string') return parseNumber(value);
  return null;
}

export function toTruth(value: Value): Truth {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return null;
}

/** `=` between two values of any type; a pair that cannot be brought to one type is UNKNOWN. */
export function equals(left: Value, right: Value): Truth {
  if (left === null || right === null) return null;
  const leftType = typeof left;
  const rightType = typeof right;
  if (leftType === rightType) return left === right;
  if (leftType === 'number' || leftType === 'bigint' || rightType === 'number' || rightType === 'bigint') {
    const l = toNumber(left);
    const r = toNumber(right);
    return l === null || r === null ? null : sameNumber(l, r);
  }
  // One boolean, one string.
  const l = toTruth(left);
  const r = toTruth(right);
  return l === null || r === null ? null : l === r;
}

/** Mathematical equality, exact across double and bigint. */
export function sameNumber(left: Num, right: Num): boolean {
  return typeof left === typeof right ? left === right : left == right;
}

/** -1, 0 or 1; JavaScript compares a double with a bigint exactly. */
export function compareNumbers(left: Num, right: Num): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function isExactInteger(value: Num): boolean {
  return typeof value === 'bigint' || Number.isSafeInteger(value);
}

/**
 * + - * / on two numbers. Integers stay exact past 2^53 (as Java's long would, without its
 * overflow); division is always in doubles, as ActiveMQ does it. Division by zero and results
 * beyond the double range are UNKNOWN.
 */
export function arithmetic(op: '+' | '-' | '*' | '/', left: Num, right: Num): Num | null {
  if (op === '/') {
    const divisor = Number(right);
    if (divisor === 0) return null;
    return finite(Number(left) / divisor);
  }
  if (typeof left === 'number' && typeof right === 'number') {
    const result = op === '+' ? left + right : op === '-' ? left - right : left * right;
    if (Number.isSafeInteger(result) || !Number.isSafeInteger(left) || !Number.isSafeInteger(right)) {
      return finite(result);
    }
  }
  if (isExactInteger(left) && isExactInteger(right)) {
    const l = BigInt(left);
    const r = BigInt(right);
    return exactNumber(op === '+' ? l + r : op === '-' ? l - r : l * r);
  }
  const l = Number(left);
  const r = Number(right);
  return finite(op === '+' ? l + r : op === '-' ? l - r : l * r);
}

export function negate(value: Num): Num {
  return typeof value === 'bigint' ? exactNumber(-value) : -value;
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
