// Every way a selector can be rejected: the error's class, code and HTTP status, the 1-based
// column, and what the message says was expected.
import { expect } from 'chai';
import { BrokerError } from '../../errors.js';
import { MAX_SELECTOR_DEPTH, MAX_SELECTOR_LENGTH, compileSelector } from './index.js';

function rejection(text: string): BrokerError {
  try {
    compileSelector(text);
  } catch (error) {
    expect(error).to.be.instanceOf(BrokerError);
    return error as BrokerError;
  }
  expect.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

// [selector, column, what the message must say after "column N: "]
const cases: Array<[string, number, string]> = [
  // Lexical
  ["name = 'abc", 8, 'expected a closing quote for the string that starts here'],
  ["a = 'it''s", 5, 'expected a closing quote for the string that starts here'],
  ['a # b', 3, "expected an identifier, a literal, an operator or a parenthesis, found '#'"],
  ['a . b', 3, "expected an identifier, a literal, an operator or a parenthesis, found '.'"],
  ['a != 1', 3, "expected '<>' for 'not equal', found '!='"],
  ['a = "x"', 5, 'expected a string in single quotes, found \'"\''],
  ['a = ?', 5, "expected an identifier, a literal, an operator or a parenthesis, found '?'"],
  ['12abc = 1', 1, "expected a number, found '12abc'"],
  ['a = 1.2.3', 5, "expected a number, found '1.2.3'"],
  ['a = 1e', 5, "expected a number, found '1e'"],
  ['a = 1e+', 5, "expected a number, found '1e'"],
  ['a = 0x', 5, "expected a number, found '0x'"],
  ['a = 0xG1', 5, "expected a number, found '0xG1'"],
  ['a = 1.5L', 5, "expected a number, found '1.5L'"],
  ['a = 09', 5, "expected octal digits (0-7) after a leading 0, found '09'"],
  ['a = 1e999', 5, "expected a number within the range of a double, found '1e999'"],
  // Missing or misplaced values
  ['price = ', 9, "expected a value after '=', found the end of the selector"],
  ['price >', 8, "expected a value after '>', found the end of the selector"],
  ['a = 1 AND', 10, 'expected a value after AND, found the end of the selector'],
  ['a = 1 or', 9, 'expected a value after OR, found the end of the selector'],
  ['NOT', 4, 'expected a value after NOT, found the end of the selector'],
  ['a + * 2 = 1', 5, "expected a value after '+', found '*'"],
  ['AND = 1', 1, 'expected a condition, found AND'],
  [')', 1, "expected a condition, found ')'"],
  ['()', 2, "expected a value after '(', found ')'"],
  ['a = between', 5, "expected a value after '=', found BETWEEN"],
  ['a = NULL', 5, "expected a value after '=', found NULL (test for a missing property with IS NULL)"],
  ['NULL IS NULL', 1, 'expected a condition, found NULL (test for a missing property with IS NULL)'],
  // Structure
  ['(a = 1', 7, "expected AND, OR or ')' to close the '(' at column 1, found the end of the selector"],
  ['x = 1 AND (a = 1 b', 18, "expected AND, OR or ')' to close the '(' at column 11, found 'b'"],
  ['a = 1)', 6, "expected AND, OR or the end of the selector, found ')'"],
  ['a = 1 b', 7, "expected AND, OR or the end of the selector, found 'b'"],
  ['a = 1 = 2', 7, "expected AND, OR or the end of the selector, found '='"],
  ['a b', 3, "expected AND, OR or the end of the selector, found 'b'"],
  ['a NOT 5', 7, "expected BETWEEN, LIKE or IN after NOT, found '5'"],
  ['a NOT IS NULL', 7, 'expected BETWEEN, LIKE or IN after NOT, found IS'],
  ['a IS 5', 6, "expected NULL or NOT NULL after IS, found '5'"],
  ['a IS NOT 5', 10, "expected NULL or NOT NULL after IS, found '5'"],
  ['a BETWEEN 1 2', 13, "expected AND after the lower bound of BETWEEN, found '2'"],
  ['a BETWEEN 1', 12, 'expected AND after the lower bound of BETWEEN, found the end of the selector'],
  ['a LIKE 5', 8, "expected a string pattern after LIKE, found '5'"],
  ['a LIKE b', 8, "expected a string pattern after LIKE, found 'b'"],
  ["a LIKE 'x' ESCAPE 'ab'", 19, "expected a string of exactly one character after ESCAPE, found the string 'ab'"],
  ["a LIKE 'x' ESCAPE ''", 19, "expected a string of exactly one character after ESCAPE, found the string ''"],
  ["a LIKE 'x' ESCAPE", 18, 'expected a string of exactly one character after ESCAPE, found the end of the selector'],
  ["5 LIKE 'x'", 1, "expected a property or a string before LIKE, found '5'"],
  ["a IN 'x'", 6, "expected '(' after IN, found the string 'x'"],
  ['a IN ()', 7, "expected a string in the IN list, found ')'"],
  ["a IN ('x',)", 11, "expected a string in the IN list, found ')'"],
  ["a IN ('x', 1)", 12, "expected a string in the IN list, found '1'"],
  ["a IN ('x' 'y')", 11, "expected ',' or ')' in the IN list, found the string 'y'"],
  ["a IN ('x'", 10, "expected ',' or ')' in the IN list, found the end of the selector"],
  ["1 IN ('a')", 1, "expected a property before IN, found '1'"],
  // Types the text alone shows to be wrong
  ["a > 'x'", 5, "expected a number or a property after '>', found the string 'x'"],
  ['TRUE < a', 1, "expected a number or a property before '<', found TRUE"],
  ["a + 'x' = 1", 5, "expected a number or a property after '+', found the string 'x'"],
  ['FALSE * 2 = 1', 1, "expected a number or a property before '*', found FALSE"],
  ["-'x' = 1", 2, "expected a number or a property after '-', found the string 'x'"],
  ['(a = 1) + 1 = 2', 1, "expected a number or a property before '+', found the condition '(a = 1)'"],
  ["a BETWEEN 'x' AND 2", 11, "expected a number or a property after BETWEEN, found the string 'x'"],
  ['a BETWEEN 1 AND TRUE', 17, 'expected a number or a property after AND, found TRUE'],
  ["'a' BETWEEN 1 AND 2", 1, "expected a number or a property before BETWEEN, found the string 'a'"],
  ["'a' = 1", 7, "expected a string after '=' to compare with the string 'a', found '1'"],
  ['TRUE = 1', 8, "expected a condition after '=' to compare with TRUE, found '1'"],
  ["1 <> 'a'", 6, "expected a number after '<>' to compare with '1', found the string 'a'"],
  ['5', 1, "expected a condition, found '5'"],
  ["'yes'", 1, "expected a condition, found the string 'yes'"],
  ['a + 1', 1, "expected a condition, found 'a + 1'"],
  ['5 AND a', 1, "expected a condition before AND, found '5'"],
  ["a OR 'x'", 6, "expected a condition after OR, found the string 'x'"],
  ['NOT 5', 5, "expected a condition after NOT, found '5'"],
  // Columns stay those of the text as sent, after ActiveMQ's conversion prefix too
  ['convert_string_expressions:a =', 31, "expected a value after '=', found the end of the selector"],
  ['convert_string_expressions:', 28, 'expected a condition, found the end of the selector'],
  // Columns count characters, not UTF-16 units
  ["a = '😀' #", 9, "expected an identifier, a literal, an operator or a parenthesis, found '#'"],
];

describe('selectors: invalid selectors', () => {
  for (const [text, column, detail] of cases) {
    it(`rejects ${JSON.stringify(text)} at column ${column}`, () => {
      const error = rejection(text);
      expect(error.code).to.equal('TANDEM_ERR_INVALID_SELECTOR');
      expect(error.httpStatus).to.equal(400);
      expect(error.message).to.equal(`invalid selector at column ${column}: ${detail} in "${text}"`);
    });
  }

  it('rejects a selector longer than the limit, at the first character past it', () => {
    const text = `a = '${'x'.repeat(MAX_SELECTOR_LENGTH)}'`;
    const error = rejection(text);
    expect(error.code).to.equal('TANDEM_ERR_INVALID_SELECTOR');
    expect(error.message).to.match(
      new RegExp(`^invalid selector at column ${MAX_SELECTOR_LENGTH + 1}: expected at most ${MAX_SELECTOR_LENGTH} characters, found ${text.length} in "\\.\\.\\.x+'"$`),
    );
  });

  it('quotes only a window of a long selector around the fault', () => {
    const text = `${'a = 1 AND '.repeat(50)}a = 1 b${' AND a = 1'.repeat(50)}`;
    const error = rejection(text);
    expect(error.message).to.contain("expected AND, OR or the end of the selector, found 'b'");
    expect(error.message).to.contain('in "...');
    expect(error.message).to.contain('a = 1 AND a = 1 b AND a = 1');
    expect(error.message).to.match(/\.\.\."$/);
    expect(error.message.length).to.be.lessThan(250);
  });

  const tooDeep: Array<[string, string]> = [
    ['parentheses', `${'('.repeat(MAX_SELECTOR_DEPTH + 1)}a${')'.repeat(MAX_SELECTOR_DEPTH + 1)}`],
    ['NOTs', `${'NOT '.repeat(MAX_SELECTOR_DEPTH + 1)}a`],
    ['unary minus signs', `${'-'.repeat(MAX_SELECTOR_DEPTH + 1)}a = 1`],
    ['a chain of additions', `a${' + a'.repeat(MAX_SELECTOR_DEPTH)} = 1`],
    ['parentheses filling 4 KiB', `${'('.repeat(2047)}a${')'.repeat(2047)}`],
    ['additions filling 4 KiB', `a${'+a'.repeat(2040)} = 1`],
  ];
  for (const [what, text] of tooDeep) {
    it(`rejects nesting deeper than ${MAX_SELECTOR_DEPTH} levels: ${what}`, () => {
      const error = rejection(text);
      expect(error.code).to.equal('TANDEM_ERR_INVALID_SELECTOR');
      expect(error.message).to.match(/^invalid selector at column \d+: expected at most 100 levels of nesting in "/);
    });
  }

  it('reports the column of the first parenthesis too many', () => {
    const text = `${'('.repeat(MAX_SELECTOR_DEPTH + 1)}a = 1${')'.repeat(MAX_SELECTOR_DEPTH + 1)}`;
    expect(rejection(text).message).to.contain(`at column ${MAX_SELECTOR_DEPTH + 1}:`);
  });
});
