// LIKE patterns: `%` any run of characters, `_` exactly one, everything else literal. Matched
// without regular expressions, so pattern characters never act as regex syntax and a hostile
// pattern like '%a%a%a%a%b' costs at most (pattern length x value length) steps, never exponential.

/** One pattern element: a literal character (a code point), or a wildcard. */
type Element = string | typeof ANY | typeof ONE;
const ANY = Symbol('%');
const ONE = Symbol('_');

/**
 * Compiles a pattern. After the escape character, `%`, `_` and the escape character itself are
 * literal; before any other character (or at the end) the escape character stands for itself, as
 * in ActiveMQ.
 */
export function compileLike(pattern: string, escape: string | null): (value: string) => boolean {
  const elements = parsePattern(pattern, escape);
  const literal = (from: number, to: number): string | null => {
    let text = '';
    for (let i = from; i < to; i++) {
      const element = elements[i]!;
      if (typeof element !== 'string') return null;
      text += element;
    }
    return text;
  };
  const last = elements.length - 1;
  const whole = literal(0, elements.length);
  if (whole !== null) return (value) => value === whole;
  if (elements.length === 1 && elements[0] === ANY) return () => true;
  // The common shapes: 'abc%', '%abc' and '%abc%'.
  const prefix = elements[last] === ANY ? literal(0, last) : null;
  if (prefix !== null) return (value) => value.startsWith(prefix);
  const suffix = elements[0] === ANY ? literal(1, elements.length) : null;
  if (suffix !== null) return (value) => value.endsWith(suffix);
  const infix = elements[0] === ANY && elements[last] === ANY ? literal(1, last) : null;
  if (infix !== null) return (value) => value.includes(infix);
  return (value) => matchElements(elements, Array.from(value));
}

function parsePattern(pattern: string, escape: string | null): Element[] {
  const chars = Array.from(pattern);
  const elements: Element[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    if (c === escape && next !== undefined && (next === '%' || next === '_' || next === escape)) {
      elements.push(next);
      i++;
    } else if (c === '%') {
      // Consecutive %s match the same as one.
      if (elements[elements.length - 1] !== ANY) elements.push(ANY);
    } else if (c === '_') {
      elements.push(ONE);
    } else {
      elements.push(c);
    }
  }
  return elements;
}

/**
 * Wildcard matching with one backtrack point: on a mismatch, the most recent `%` absorbs one more
 * character and matching resumes after it. Earlier `%`s never need revisiting, because the later
 * one can absorb anything they could.
 */
function matchElements(elements: Element[], value: string[]): boolean {
  let p = 0;
  let v = 0;
  let starAt = -1;
  let starValue = 0;
  while (v < value.length) {
    const element = elements[p];
    if (element === ONE || (typeof element === 'string' && element === value[v])) {
      p++;
      v++;
    } else if (element === ANY) {
      starAt = p++;
      starValue = v;
    } else if (starAt >= 0) {
      p = starAt + 1;
      v = ++starValue;
    } else {
      return false;
    }
  }
  while (elements[p] === ANY) p++;
  return p === elements.length;
}
