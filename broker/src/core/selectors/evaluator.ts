// Turns a checked syntax tree into a tree of closures, once per subscription, so matching a
// message is a few direct calls with no tree walking or type dispatch on the node kind. Parts
// that read no property are computed here, once. Nothing in a closure throws: every type
// mismatch, absent property or division by zero is UNKNOWN.
import type { Node } from './ast.js';
import type { PropertyLookup } from './index.js';
import { compileLike } from './like.js';
import {
  arithmetic,
  compareNumbers,
  equals,
  negate,
  toNumber,
  toTruth,
  type Num,
  type Truth,
  type Value,
} from './values.js';

export type Evaluate = (lookup: PropertyLookup) => Value;

interface Compiled {
  run: Evaluate;
  /** True when no property is read, so the value can be computed now. */
  constant: boolean;
}

/** The selector's condition: TRUE, FALSE or UNKNOWN for the message behind `lookup`. */
export function compileCondition(node: Node): (lookup: PropertyLookup) => Truth {
  const compiled = asCondition(node);
  return compiled.run as (lookup: PropertyLookup) => Truth;
}

function compile(node: Node): Compiled {
  const compiled = build(node);
  if (!compiled.constant) return compiled;
  const value = compiled.run(readsNothing);
  return { run: () => value, constant: true };
}

function readsNothing(): undefined {
  return undefined;
}

/** A property standing alone as a condition must be a boolean (or the text true/false). */
function asCondition(node: Node): Compiled {
  const compiled = compile(node);
  if (node.type !== 'identifier') return compiled;
  const run = compiled.run;
  return { run: (lookup) => toTruth(run(lookup)), constant: false };
}

function asNumber(node: Node): Compiled {
  const compiled = compile(node);
  if (compiled.constant || node.type !== 'identifier') return compiled;
  const run = compiled.run;
  return { run: (lookup) => toNumber(run(lookup)), constant: false };
}

function build(node: Node): Compiled {
  switch (node.type) {
    case 'literal': {
      const value = node.value;
      return { run: () => value, constant: true };
    }
    case 'identifier': {
      const name = node.name;
      return {
        run: (lookup) => {
          const value: unknown = lookup(name);
          // Anything but a string, a boolean or a real number is absent: undefined, null, NaN, and
          // whatever a careless lookup returns (a plain object's `constructor`, say).
          switch (typeof value) {
            case 'string':
            case 'boolean':
              return value;
            case 'number':
              return Number.isNaN(value) ? null : value;
            default:
              return null;
          }
        },
        constant: false,
      };
    }
    case 'negate': {
      const operand = asNumber(node.operand);
      const run = operand.run;
      return { run: (lookup) => mapNumber(run(lookup), negate), constant: operand.constant };
    }
    case 'numeric':
      return asNumber(node.operand);
    case 'arithmetic':
      return buildArithmetic(node.op, asNumber(node.left), asNumber(node.right));
    case 'comparison':
      return node.op === '=' || node.op === '<>'
        ? buildEquality(node.op === '<>', compile(node.left), compile(node.right))
        : buildOrdering(node.op, asNumber(node.left), asNumber(node.right));
    case 'between':
      return buildBetween(node.negated, asNumber(node.value), asNumber(node.low), asNumber(node.high));
    case 'like': {
      const value = compile(node.value);
      const matches = compileLike(node.pattern, node.escape);
      return unaryTruth(value, node.negated, (v) => (typeof v === 'string' ? matches(v) : null));
    }
    case 'in': {
      const members = new Set(node.list);
      return unaryTruth(compile(node.value), node.negated, (v) => (typeof v === 'string' ? members.has(v) : null));
    }
    case 'is-null': {
      const value = compile(node.value);
      const run = value.run;
      const negated = node.negated;
      return { run: (lookup) => (run(lookup) === null) !== negated, constant: value.constant };
    }
    case 'not': {
      const operand = asCondition(node.operand);
      const run = operand.run;
      return { run: (lookup) => not(run(lookup) as Truth), constant: operand.constant };
    }
    case 'and':
    case 'or':
      return buildLogical(node.type, node.operands.map(asCondition));
  }
}

function mapNumber(value: Value, f: (n: Num) => Num | null): Value {
  return typeof value === 'number' || typeof value === 'bigint' ? f(value) : null;
}

function not(value: Truth): Truth {
  return value === null ? null : !value;
}

/** A test of one value, UNKNOWN when the value is absent; NOT keeps UNKNOWN as UNKNOWN. */
function unaryTruth(value: Compiled, negated: boolean, test: (v: Value) => Truth): Compiled {
  const run = value.run;
  return {
    run: (lookup) => {
      const v = run(lookup);
      if (v === null) return null;
      const result = test(v);
      return negated ? not(result) : result;
    },
    constant: value.constant,
  };
}

function buildArithmetic(op: '+' | '-' | '*' | '/', left: Compiled, right: Compiled): Compiled {
  const l = left.run;
  const r = right.run;
  return {
    run: (lookup) => {
      const a = l(lookup);
      if (a === null) return null;
      const b = r(lookup);
      if (b === null) return null;
      return arithmetic(op, a as Num, b as Num);
    },
    constant: left.constant && right.constant,
  };
}

function buildEquality(negated: boolean, left: Compiled, right: Compiled): Compiled {
  const l = left.run;
  const r = right.run;
  const constant = left.constant && right.constant;
  return negated
    ? { run: (lookup) => not(equals(l(lookup), r(lookup))), constant }
    : { run: (lookup) => equals(l(lookup), r(lookup)), constant };
}

const ORDERINGS = {
  '<': (c: number) => c < 0,
  '>': (c: number) => c > 0,
  '<=': (c: number) => c <= 0,
  '>=': (c: number) => c >= 0,
};

function buildOrdering(op: keyof typeof ORDERINGS, left: Compiled, right: Compiled): Compiled {
  const l = left.run;
  const r = right.run;
  const holds = ORDERINGS[op];
  return {
    run: (lookup) => {
      const a = l(lookup);
      if (a === null) return null;
      const b = r(lookup);
      if (b === null) return null;
      return holds(compareNumbers(a as Num, b as Num));
    },
    constant: left.constant && right.constant,
  };
}

/** `v BETWEEN lo AND hi` is `v >= lo AND v <= hi` under three-valued logic (JMS 1.1 3.8.1.2). */
function buildBetween(negated: boolean, value: Compiled, low: Compiled, high: Compiled): Compiled {
  const v = value.run;
  const lo = low.run;
  const hi = high.run;
  const atLeast = (x: Value, bound: Value): Truth =>
    bound === null ? null : compareNumbers(x as Num, bound as Num) >= 0;
  const atMost = (x: Value, bound: Value): Truth =>
    bound === null ? null : compareNumbers(x as Num, bound as Num) <= 0;
  return {
    run: (lookup) => {
      const x = v(lookup);
      if (x === null) return null;
      const result = and(atLeast(x, lo(lookup)), atMost(x, hi(lookup)));
      return negated ? not(result) : result;
    },
    constant: value.constant && low.constant && high.constant,
  };
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

/** n-ary AND / OR with SQL's truth tables; stops at the first operand that decides. */
function buildLogical(type: 'and' | 'or', operands: Compiled[]): Compiled {
  const runs = operands.map((operand) => operand.run);
  const constant = operands.every((operand) => operand.constant);
  const decisive = type === 'or';
  return {
    run: (lookup) => {
      let unknown = false;
      for (const run of runs) {
        const result = run(lookup);
        if (result === decisive) return decisive;
        if (result === null) unknown = true;
      }
      return unknown ? null : !decisive;
    },
    constant,
  };
}
