// The selector's syntax tree, and the static type of each node the parser checks operands with.

export type ComparisonOp = '=' | '<>' | '<' | '>' | '<=' | '>=';
export type ArithmeticOp = '+' | '-' | '*' | '/';

interface Span {
  /** UTF-16 offsets into the selector text, for error messages. */
  start: number;
  end: number;
  /** Levels below and including this node; bounded so evaluation cannot exhaust the stack. */
  height: number;
}

export type Node =
  | (Span & { type: 'literal'; value: string | number | bigint | boolean })
  | (Span & { type: 'identifier'; name: string })
  | (Span & { type: 'negate'; operand: Node })
  /** Unary plus: no arithmetic, but it makes its operand numeric (a string property is converted). */
  | (Span & { type: 'numeric'; operand: Node })
  | (Span & { type: 'arithmetic'; op: ArithmeticOp; left: Node; right: Node })
  | (Span & { type: 'comparison'; op: ComparisonOp; left: Node; right: Node })
  | (Span & { type: 'between'; negated: boolean; value: Node; low: Node; high: Node })
  | (Span & { type: 'like'; negated: boolean; value: Node; pattern: string; escape: string | null })
  | (Span & { type: 'in'; negated: boolean; value: Node; list: string[] })
  | (Span & { type: 'is-null'; negated: boolean; value: Node })
  | (Span & { type: 'not'; operand: Node })
  | (Span & { type: 'and' | 'or'; operands: Node[] });

/**
 * What a node yields, as far as the text alone tells: `any` for a property, whose type is only
 * known per message. Conditions (`boolean`) yield TRUE, FALSE or UNKNOWN.
 */
export type StaticType = 'boolean' | 'number' | 'string' | 'any';

export function staticTypeOf(node: Node): StaticType {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'string' ? 'string' : typeof node.value === 'boolean' ? 'boolean' : 'number';
    case 'identifier':
      return 'any';
    case 'negate':
    case 'numeric':
    case 'arithmetic':
      return 'number';
    default:
      return 'boolean';
  }
}
