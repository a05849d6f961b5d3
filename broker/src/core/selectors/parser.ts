// Recursive descent from tokens to a checked syntax tree. Precedence, loosest first (SQL-92 and
// JMS 1.1 section 3.8.1.2): OR, AND, NOT, predicates (comparisons, BETWEEN, LIKE, IN, IS NULL),
// + and -, * and /, unary + and -. Operand types that the text alone shows to be wrong (`'a' > 1`,
// `price + TRUE`, `5 AND x`) are rejected here, so evaluation never has to report an error.
import type { ArithmeticOp, ComparisonOp, Node } from './ast.js';
import { staticTypeOf } from './ast.js';
import { tokenize, type Keyword, type Token } from './lexer.js';
import { MAX_SELECTOR_DEPTH, columnOf, invalidSelector, quoteSource } from './selector-error.js';

export function parseSelector(text: string): Node {
  return new Parser(text, tokenize(text)).parseSelector();
}

const COMPARISONS: ReadonlySet<string> = new Set(['=', '<>', '<', '>', '<=', '>=']);

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  parseSelector(): Node {
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'end') {
      throw this.error(next.start, `expected AND, OR or the end of the selector, found ${this.describe(next)}`);
    }
    return this.condition(node, '');
  }

  private parseOr(): Node {
    return this.parseLogical('OR', () => this.parseAnd());
  }

  private parseAnd(): Node {
    return this.parseLogical('AND', () => this.parseNot());
  }

  /** AND and OR chains become one n-ary node, so a long chain adds one level, not one per term. */
  private parseLogical(keyword: 'AND' | 'OR', parseOperand: () => Node): Node {
    const first = parseOperand();
    if (!this.atKeyword(keyword)) return first;
    const operands = [this.condition(first, `before ${keyword}`)];
    let at = this.peek().start;
    while (this.atKeyword(keyword)) {
      at = this.next().start;
      operands.push(this.condition(parseOperand(), `after ${keyword}`));
    }
    const type = keyword === 'AND' ? 'and' : 'or';
    const end = operands[operands.length - 1]!.end;
    return { type, operands, start: first.start, end, height: this.heightOf(at, ...operands) };
  }

  private parseNot(): Node {
    if (!this.atKeyword('NOT')) return this.parsePredicate();
    const not = this.next();
    this.enter(not.start);
    const operand = this.condition(this.parseNot(), 'after NOT');
    this.depth--;
    return { type: 'not', operand, start: not.start, end: operand.end, height: this.heightOf(not.start, operand) };
  }

  private parsePredicate(): Node {
    const left = this.parseAdditive();
    const token = this.peek();
    if (token.kind === 'operator' && COMPARISONS.has(token.op)) {
      this.next();
      return this.comparison(token.op as ComparisonOp, token.start, left, this.parseAdditive());
    }
    if (token.kind !== 'keyword') return left;
    let negated = false;
    if (token.keyword === 'NOT') {
      const after = this.tokens[this.index + 1]!;
      if (after.kind !== 'keyword' || !['BETWEEN', 'LIKE', 'IN'].includes(after.keyword)) {
        throw this.error(after.start, `expected BETWEEN, LIKE or IN after NOT, found ${this.describe(after)}`);
      }
      this.next();
      negated = true;
    }
    switch ((this.peek() as Token & { kind: 'keyword' }).keyword) {
      case 'BETWEEN':
        return this.parseBetween(left, negated);
      case 'LIKE':
        return this.parseLike(left, negated);
      case 'IN':
        return this.parseIn(left, negated);
      case 'IS':
        return this.parseIsNull(left);
      default:
        return left;
    }
  }

  private comparison(op: ComparisonOp, at: number, left: Node, right: Node): Node {
    if (op !== '=' && op !== '<>') {
      // JMS: strings and booleans compare only with = and <>.
      this.numeric(left, `before '${op}'`);
      this.numeric(right, `after '${op}'`);
    } else {
      const leftType = staticTypeOf(left);
      const rightType = staticTypeOf(right);
      if (leftType !== 'any' && rightType !== 'any' && leftType !== rightType) {
        const wanted = leftType === 'boolean' ? 'a condition' : `a ${leftType}`;
        throw this.error(
          right.start,
          `expected ${wanted} after '${op}' to compare with ${this.describeNode(left)}, found ${this.describeNode(right)}`,
        );
      }
    }
    return { type: 'comparison', op, left, right, start: left.start, end: right.end, height: this.heightOf(at, left, right) };
  }

  private parseBetween(value: Node, negated: boolean): Node {
    const between = this.next();
    this.numeric(value, 'before BETWEEN');
    const low = this.numeric(this.parseAdditive(), 'after BETWEEN');
    const and = this.peek();
    if (!this.atKeyword('AND')) {
      throw this.error(and.start, `expected AND after the lower bound of BETWEEN, found ${this.describe(and)}`);
    }
    this.next();
    const high = this.numeric(this.parseAdditive(), 'after AND');
    const height = this.heightOf(between.start, value, low, high);
    return { type: 'between', negated, value, low, high, start: value.start, end: high.end, height };
  }

  private parseLike(value: Node, negated: boolean): Node {
    const like = this.next();
    if (value.type !== 'identifier' && staticTypeOf(value) !== 'string') {
      throw this.error(value.start, `expected a property or a string before LIKE, found ${this.describeNode(value)}`);
    }
    const pattern = this.peek();
    if (pattern.kind !== 'string') {
      throw this.error(pattern.start, `expected a string pattern after LIKE, found ${this.describe(pattern)}`);
    }
    this.next();
    let escape: string | null = null;
    let end = pattern.start + pattern.text.length;
    if (this.atKeyword('ESCAPE')) {
      this.next();
      const escapeToken = this.peek();
      if (escapeToken.kind !== 'string' || [...escapeToken.value].length !== 1) {
        throw this.error(
          escapeToken.start,
          `expected a string of exactly one character after ESCAPE, found ${this.describe(escapeToken)}`,
        );
      }
      this.next();
      escape = escapeToken.value;
      end = escapeToken.start + escapeToken.text.length;
    }
    const height = this.heightOf(like.start, value);
    return { type: 'like', negated, value, pattern: pattern.value, escape, start: value.start, end, height };
  }

  private parseIn(value: Node, negated: boolean): Node {
    const inToken = this.next();
    // JMS 1.1: `identifier [NOT] IN (string-literal, ...)`.
    if (value.type !== 'identifier') {
      throw this.error(value.start, `expected a property before IN, found ${this.describeNode(value)}`);
    }
    const open = this.peek();
    if (open.kind !== 'operator' || open.op !== '(') {
      throw this.error(open.start, `expected '(' after IN, found ${this.describe(open)}`);
    }
    this.next();
    const list: string[] = [];
    for (;;) {
      const item = this.peek();
      if (item.kind !== 'string') {
        throw this.error(item.start, `expected a string in the IN list, found ${this.describe(item)}`);
      }
      this.next();
      list.push(item.value);
      const separator = this.next();
      if (separator.kind === 'operator' && separator.op === ')') {
        const end = separator.start + 1;
        return { type: 'in', negated, value, list, start: value.start, end, height: this.heightOf(inToken.start, value) };
      }
      if (separator.kind !== 'operator' || separator.op !== ',') {
        throw this.error(separator.start, `expected ',' or ')' in the IN list, found ${this.describe(separator)}`);
      }
    }
  }

  private parseIsNull(value: Node): Node {
    const is = this.next();
    const negated = this.atKeyword('NOT');
    if (negated) this.next();
    const nullToken = this.peek();
    if (!this.atKeyword('NULL')) {
      throw this.error(nullToken.start, `expected NULL or NOT NULL after IS, found ${this.describe(nullToken)}`);
    }
    this.next();
    const end = nullToken.start + nullToken.text.length;
    return { type: 'is-null', negated, value, start: value.start, end, height: this.heightOf(is.start, value) };
  }

  private parseAdditive(): Node {
    return this.parseArithmetic('+', '-', () => this.parseMultiplicative());
  }

  private parseMultiplicative(): Node {
    return this.parseArithmetic('*', '/', () => this.parseUnary());
  }

  private parseArithmetic(a: ArithmeticOp, b: ArithmeticOp, parseOperand: () => Node): Node {
    let left = parseOperand();
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'operator' || (token.op !== a && token.op !== b)) return left;
      this.next();
      const op = token.op;
      const right = this.numeric(parseOperand(), `after '${op}'`);
      this.numeric(left, `before '${op}'`);
      const height = this.heightOf(token.start, left, right);
      left = { type: 'arithmetic', op, left, right, start: left.start, end: right.end, height };
    }
  }

  private parseUnary(): Node {
    const sign = this.peek();
    if (sign.kind !== 'operator' || (sign.op !== '+' && sign.op !== '-')) return this.parsePrimary();
    this.next();
    this.enter(sign.start);
    const operand = this.numeric(this.parseUnary(), `after '${sign.op}'`);
    this.depth--;
    const type = sign.op === '-' ? 'negate' : 'numeric';
    return { type, operand, start: sign.start, end: operand.end, height: this.heightOf(sign.start, operand) };
  }

  private parsePrimary(): Node {
    const token = this.peek();
    const span = { start: token.start, end: token.start + token.text.length, height: 1 };
    switch (token.kind) {
      case 'identifier':
        this.next();
        return { type: 'identifier', name: token.text, ...span };
      case 'string':
      case 'number':
        this.next();
        return { type: 'literal', value: token.value, ...span };
      case 'keyword':
        if (token.keyword === 'TRUE' || token.keyword === 'FALSE') {
          this.next();
          return { type: 'literal', value: token.keyword === 'TRUE', ...span };
        }
        if (token.keyword === 'NULL') {
          throw this.error(token.start, `${this.expectedValue()}, found NULL (test for a missing property with IS NULL)`);
        }
        break;
      case 'operator':
        if (token.op === '(') return this.parseParenthesized();
        break;
      case 'end':
        break;
    }
    throw this.error(token.start, `${this.expectedValue()}, found ${this.describe(token)}`);
  }

  private parseParenthesized(): Node {
    const open = this.next();
    this.enter(open.start);
    const inner = this.parseOr();
    const close = this.peek();
    if (close.kind !== 'operator' || close.op !== ')') {
      const column = columnOf(this.text, open.start);
      throw this.error(
        close.start,
        `expected AND, OR or ')' to close the '(' at column ${column}, found ${this.describe(close)}`,
      );
    }
    this.next();
    this.depth--;
    return { ...inner, start: open.start, end: close.start + 1 };
  }

  private expectedValue(): string {
    const previous = this.tokens[this.index - 1];
    if (previous === undefined) return 'expected a condition';
    const name = previous.kind === 'keyword' ? previous.keyword : `'${previous.text}'`;
    return `expected a value after ${name}`;
  }

  private numeric(node: Node, where: string): Node {
    const type = staticTypeOf(node);
    if (type === 'number' || type === 'any') return node;
    throw this.error(node.start, `expected a number or a property ${where}, found ${this.describeNode(node)}`);
  }

  /** A property may stand alone as a condition (a boolean property); a number or string may not. */
  private condition(node: Node, where: string): Node {
    const type = staticTypeOf(node);
    if (type === 'boolean' || type === 'any') return node;
    const place = where === '' ? '' : ` ${where}`;
    throw this.error(node.start, `expected a condition${place}, found ${this.describeNode(node)}`);
  }

  private enter(at: number): void {
    if (++this.depth > MAX_SELECTOR_DEPTH) {
      throw this.error(at, `expected at most ${MAX_SELECTOR_DEPTH} levels of nesting`);
    }
  }

  private heightOf(at: number, ...children: Node[]): number {
    let height = 0;
    for (const child of children) height = Math.max(height, child.height);
    if (height + 1 > MAX_SELECTOR_DEPTH) {
      throw this.error(at, `expected at most ${MAX_SELECTOR_DEPTH} levels of nesting`);
    }
    return height + 1;
  }

  private describe(token: Token): string {
    switch (token.kind) {
      case 'end':
        return 'the end of the selector';
      case 'string':
        return `the string ${quoteSource(token.value)}`;
      case 'keyword':
        return token.keyword;
      default:
        return quoteSource(token.text);
    }
  }

  private describeNode(node: Node): string {
    const source = this.text.slice(node.start, node.end);
    if (node.type === 'literal' && typeof node.value === 'string') return `the string ${quoteSource(node.value)}`;
    if (node.type === 'literal' && typeof node.value === 'boolean') return node.value ? 'TRUE' : 'FALSE';
    return staticTypeOf(node) === 'boolean' ? `the condition ${quoteSource(source)}` : quoteSource(source);
  }

  private atKeyword(keyword: Keyword): boolean {
    const token = this.peek();
    return token.kind === 'keyword' && token.keyword === keyword;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private error(index: number, detail: string): Error {
    return invalidSelector(this.text, index, detail);
  }
}
