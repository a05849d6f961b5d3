// Evaluation of compiled selectors, table by table: each row is a selector, a message's properties
// and the SQL truth value expected. UNKNOWN is told apart from FALSE through the public API alone:
// a FALSE condition's negation matches, an UNKNOWN one's does not (JMS 1.1 section 3.8.1.2).
import { expect } from 'chai';
import { compileSelector, type PropertyLookup } from './index.js';

type Properties = Record<string, string | number | boolean | null>;
type Truth = 'TRUE' | 'FALSE' | 'UNKNOWN';
type Row = [selector: string, properties: Properties, expected: Truth];

function lookupOf(properties: Properties): PropertyLookup {
  return (name) => (Object.hasOwn(properties, name) ? properties[name] : undefined);
}

function truthOf(selector: string, properties: Properties): Truth {
  const lookup = lookupOf(properties);
  if (compileSelector(selector)(lookup)) return 'TRUE';
  return compileSelector(`NOT (${selector})`)(lookup) ? 'FALSE' : 'UNKNOWN';
}

function table(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const [selector, properties, expected] of rows) {
      it(`${JSON.stringify(selector)} with ${JSON.stringify(properties)} is ${expected}`, () => {
        expect(truthOf(selector, properties)).to.equal(expected);
      });
    }
  });
}

describe('selectors: evaluation', () => {
  table('numeric comparisons, with NULL for an absent property', [
    ['price = 10', { price: 10 }, 'TRUE'],
    ['price = 10', { price: 11 }, 'FALSE'],
    ['price = 10', {}, 'UNKNOWN'],
    ['price = 10', { price: null }, 'UNKNOWN'],
    ['price <> 10', { price: 11 }, 'TRUE'],
    ['price <> 10', { price: 10 }, 'FALSE'],
    ['price <> 10', {}, 'UNKNOWN'],
    ['price > 10', { price: 10.5 }, 'TRUE'],
    ['price > 10', { price: 10 }, 'FALSE'],
    ['price > 10', {}, 'UNKNOWN'],
    ['price >= 10', { price: 10 }, 'TRUE'],
    ['price >= 10', { price: 9.99 }, 'FALSE'],
    ['price >= 10', {}, 'UNKNOWN'],
    ['price < 10', { price: -3 }, 'TRUE'],
    ['price < 10', { price: 10 }, 'FALSE'],
    ['price < 10', {}, 'UNKNOWN'],
    ['price <= 10', { price: 10 }, 'TRUE'],
    ['price <= 10', { price: 10.01 }, 'FALSE'],
    ['price <= 10', {}, 'UNKNOWN'],
    ['10 < price', { price: 11 }, 'TRUE'],
    ['a < b', { a: 1, b: 2 }, 'TRUE'],
    ['a < b', { a: 1 }, 'UNKNOWN'],
    ['1 = 1', {}, 'TRUE'],
    ['1 = 1.0', {}, 'TRUE'],
    ['2 > 1.5', {}, 'TRUE'],
  ]);

  table('string properties meeting numbers are converted (STOMP headers are strings)', [
    ['price = 10', { price: '10' }, 'TRUE'],
    ['price = 10', { price: '10.0' }, 'TRUE'],
    ['price = 10', { price: '1e1' }, 'TRUE'],
    ['price = 10', { price: '+10' }, 'TRUE'],
    ['price = 10', { price: '010' }, 'TRUE'],
    ['price > 10', { price: '10.5' }, 'TRUE'],
    ['price > 10', { price: '9' }, 'FALSE'],
    ['price > 10', { price: 'ten' }, 'UNKNOWN'],
    ['price = 10', { price: 'ten' }, 'UNKNOWN'],
    ['price = 10', { price: ' 10' }, 'UNKNOWN'],
    ['price = 16', { price: '0x10' }, 'UNKNOWN'],
    ['price = 10', { price: '' }, 'UNKNOWN'],
    ['price = 10', { price: 'NaN' }, 'UNKNOWN'],
    ['price <> 10', { price: 'ten' }, 'UNKNOWN'],
    ['price = 10', { price: true }, 'UNKNOWN'],
    ['a = b', { a: 10, b: '10.0' }, 'TRUE'],
    // Two strings compare as strings: no numeric operand is involved.
    ['a = b', { a: '10', b: '10.0' }, 'FALSE'],
    ['a < b', { a: '9', b: '10' }, 'TRUE'],
    ['price * 2 = 10', { price: '5' }, 'TRUE'],
    ['price * 2 = 10', { price: 'five' }, 'UNKNOWN'],
    ['-price = -5', { price: '5' }, 'TRUE'],
    ['+price = 5', { price: '5.0' }, 'TRUE'],
  ]);

  table('strings: = and <> only, case-sensitive, quotes doubled', [
    ["color = 'red'", { color: 'red' }, 'TRUE'],
    ["color = 'red'", { color: 'Red' }, 'FALSE'],
    ["color = 'red'", {}, 'UNKNOWN'],
    ["color <> 'red'", { color: 'blue' }, 'TRUE'],
    ["color <> 'red'", { color: 'red' }, 'FALSE'],
    ["color <> 'red'", {}, 'UNKNOWN'],
    ["'red' = color", { color: 'red' }, 'TRUE'],
    ["color = 'red'", { color: 5 }, 'UNKNOWN'],
    ["name = 'O''Brien'", { name: "O'Brien" }, 'TRUE'],
    ["name = ''", { name: '' }, 'TRUE'],
    ["name = 'a b'", { name: 'a b' }, 'TRUE'],
    ['a = b', { a: 'x', b: 'x' }, 'TRUE'],
    ["'a' = 'a'", {}, 'TRUE'],
    ["'a' <> 'b'", {}, 'TRUE'],
  ]);

  table('booleans: TRUE and FALSE, = and <>, and a property standing alone', [
    ['flag = TRUE', { flag: true }, 'TRUE'],
    ['flag = TRUE', { flag: false }, 'FALSE'],
    ['flag = TRUE', { flag: 'true' }, 'TRUE'],
    ['flag = TRUE', { flag: 'TRUE' }, 'TRUE'],
    ['flag = TRUE', { flag: 'false' }, 'FALSE'],
    ['flag = TRUE', { flag: 'yes' }, 'UNKNOWN'],
    ['flag = TRUE', { flag: 1 }, 'UNKNOWN'],
    ['flag = TRUE', {}, 'UNKNOWN'],
    ['flag <> FALSE', { flag: true }, 'TRUE'],
    ['flag', { flag: true }, 'TRUE'],
    ['flag', { flag: 'true' }, 'TRUE'],
    ['flag', { flag: 'false' }, 'FALSE'],
    ['flag', { flag: '1' }, 'UNKNOWN'],
    ['flag', {}, 'UNKNOWN'],
    ['TRUE', {}, 'TRUE'],
    ['FALSE', {}, 'FALSE'],
    ['(a > 1) = TRUE', { a: 2 }, 'TRUE'],
    ['(a > 1) = FALSE', { a: 2 }, 'FALSE'],
    ['(a > 1) = TRUE', {}, 'UNKNOWN'],
    ['(a > 1) = flag', { a: 2, flag: 'true' }, 'TRUE'],
  ]);

  // The truth tables of SQL-92 three-valued logic; a = 1 is TRUE for 1, FALSE for 2, UNKNOWN absent.
  const truthValues: Array<[Truth, Properties]> = [
    ['TRUE', { a: 1 }],
    ['FALSE', { a: 2 }],
    ['UNKNOWN', {}],
  ];
  const and = (x: Truth, y: Truth): Truth =>
    x === 'FALSE' || y === 'FALSE' ? 'FALSE' : x === 'UNKNOWN' || y === 'UNKNOWN' ? 'UNKNOWN' : 'TRUE';
  const or = (x: Truth, y: Truth): Truth =>
    x === 'TRUE' || y === 'TRUE' ? 'TRUE' : x === 'UNKNOWN' || y === 'UNKNOWN' ? 'UNKNOWN' : 'FALSE';
  const logicRows: Row[] = [];
  for (const [x, xs] of truthValues) {
    for (const [y, ys] of truthValues) {
      const properties: Properties = { ...(xs.a === undefined ? {} : { a: xs.a }), ...(ys.a === undefined ? {} : { b: ys.a }) };
      logicRows.push(['a = 1 AND b = 1', properties, and(x, y)]);
      logicRows.push(['a = 1 OR b = 1', properties, or(x, y)]);
    }
    const notExpected: Truth = x === 'TRUE' ? 'FALSE' : x === 'FALSE' ? 'TRUE' : 'UNKNOWN';
    logicRows.push(['NOT a = 1', xs, notExpected]);
  }
  table('AND, OR and NOT under three-valued logic', logicRows);

  table('precedence: OR < AND < NOT < comparisons < + - < * / < unary signs', [
    ['a = 1 OR b = 1 AND c = 1', { a: 1, b: 2, c: 2 }, 'TRUE'],
    ['(a = 1 OR b = 1) AND c = 1', { a: 1, b: 2, c: 2 }, 'FALSE'],
    ['NOT a = 1 AND b = 1', { a: 2, b: 2 }, 'FALSE'],
    ['NOT (a = 1 AND b = 1)', { a: 2, b: 2 }, 'TRUE'],
    ['NOT a = 1 OR b = 1', { a: 1, b: 1 }, 'TRUE'],
    ['NOT NOT a = 1', { a: 1 }, 'TRUE'],
    ['a + b * c = 7', { a: 1, b: 2, c: 3 }, 'TRUE'],
    ['(a + b) * c = 9', { a: 1, b: 2, c: 3 }, 'TRUE'],
    ['a - b - c = -4', { a: 1, b: 2, c: 3 }, 'TRUE'],
    ['a / b / c = 2', { a: 12, b: 2, c: 3 }, 'TRUE'],
    ['a - b * 2 + c = 0', { a: 5, b: 4, c: 3 }, 'TRUE'],
    ['-a * 2 = -6', { a: 3 }, 'TRUE'],
    ['2 * -a = -6', { a: 3 }, 'TRUE'],
    ['- -a = 3', { a: 3 }, 'TRUE'],
    ['1 - -1 = 2', {}, 'TRUE'],
    ['a + 1 > b * 2 AND c = 1 OR d = 1', { a: 5, b: 2, c: 2, d: 1 }, 'TRUE'],
    ['a + 1 > b * 2 AND (c = 1 OR d = 1)', { a: 5, b: 3, c: 1 }, 'FALSE'],
  ]);

  table('arithmetic: doubles, exact integers past 2^53, UNKNOWN instead of errors', [
    ['7 / 2 = 3.5', {}, 'TRUE'],
    ['a / 2 = 3.5', { a: 7 }, 'TRUE'],
    ['a / 0 = 1', { a: 1 }, 'UNKNOWN'],
    ['a / b > 0', { a: 1, b: 0 }, 'UNKNOWN'],
    ['a / b IS NULL', { a: 1, b: '0' }, 'TRUE'],
    ['1 / 0 = 1', {}, 'UNKNOWN'],
    ['0 / 0 = 0', {}, 'UNKNOWN'],
    ['a * 1e308 > 0', { a: 10 }, 'UNKNOWN'],
    ['a + 1 = 2', {}, 'UNKNOWN'],
    ['a + b = 2', { a: 1 }, 'UNKNOWN'],
    ['0.1 + 0.2 > 0.3', {}, 'TRUE'],
    ['id = 9007199254740993', { id: '9007199254740993' }, 'TRUE'],
    ['id = 9007199254740993', { id: '9007199254740992' }, 'FALSE'],
    ['id > 9007199254740992', { id: '9007199254740993' }, 'TRUE'],
    ['id + 1 = 9007199254740994', { id: '9007199254740993' }, 'TRUE'],
    ['id * 2 = 18014398509481986', { id: '9007199254740993' }, 'TRUE'],
    ['big - 1 = 9223372036854775806', { big: '9223372036854775807' }, 'TRUE'],
    ['x = -9223372036854775808', { x: '-9223372036854775808' }, 'TRUE'],
    ['9007199254740993 = 9007199254740992', {}, 'FALSE'],
    ['9007199254740993 > 9007199254740992.0', {}, 'TRUE'],
    ['9007199254740993 / 1 > 0', {}, 'TRUE'],
  ]);

  table('numeric literals: long suffix, hex, octal, approximate', [
    ['x = 10L', { x: 10 }, 'TRUE'],
    ['x = 10l', { x: 10 }, 'TRUE'],
    ['x = 0x1F', { x: '31' }, 'TRUE'],
    ['x = 0XffL', { x: 255 }, 'TRUE'],
    ['x = 017', { x: '15' }, 'TRUE'],
    ['x = 0', { x: '0' }, 'TRUE'],
    ['x = 1.5e3', { x: '1500' }, 'TRUE'],
    ['x = 1.5E+3', { x: 1500 }, 'TRUE'],
    ['x = 15e-1', { x: 1.5 }, 'TRUE'],
    ['x = .5', { x: '0.5' }, 'TRUE'],
    ['x = 5.', { x: '5' }, 'TRUE'],
    ['x = 5.E1', { x: '50' }, 'TRUE'],
    ['x = -0', { x: '0' }, 'TRUE'],
    ['x = +62', { x: 62 }, 'TRUE'],
  ]);

  table('[NOT] BETWEEN, equivalent to >= AND <=', [
    ['a BETWEEN 1 AND 3', { a: 1 }, 'TRUE'],
    ['a BETWEEN 1 AND 3', { a: 2 }, 'TRUE'],
    ['a BETWEEN 1 AND 3', { a: 3 }, 'TRUE'],
    ['a BETWEEN 1 AND 3', { a: 0 }, 'FALSE'],
    ['a BETWEEN 1 AND 3', { a: 3.01 }, 'FALSE'],
    ['a BETWEEN 1 AND 3', {}, 'UNKNOWN'],
    ['a BETWEEN 1 AND 3', { a: '2' }, 'TRUE'],
    ['a BETWEEN 1 AND 3', { a: 'two' }, 'UNKNOWN'],
    ['a NOT BETWEEN 1 AND 3', { a: 0 }, 'TRUE'],
    ['a NOT BETWEEN 1 AND 3', { a: 2 }, 'FALSE'],
    ['a NOT BETWEEN 1 AND 3', {}, 'UNKNOWN'],
    ['a BETWEEN lo AND 3', { a: 5 }, 'FALSE'],
    ['a BETWEEN lo AND 3', { a: 2 }, 'UNKNOWN'],
    ['a NOT BETWEEN lo AND 3', { a: 5 }, 'TRUE'],
    ['a BETWEEN 3 AND 1', { a: 2 }, 'FALSE'],
    ['a BETWEEN 1 + 1 AND 2 * 2', { a: 4 }, 'TRUE'],
    ['a BETWEEN 1 AND 3 AND b = 1', { a: 2, b: 1 }, 'TRUE'],
    ['a BETWEEN 1 AND 3 AND b = 1', { a: 2, b: 2 }, 'FALSE'],
    ['a * 2 BETWEEN b AND c', { a: 2, b: '3', c: '4.5' }, 'TRUE'],
  ]);

  table('[NOT] IN over string literals, UNKNOWN for NULL', [
    ["c IN ('UK', 'US', 'France')", { c: 'UK' }, 'TRUE'],
    ["c IN ('UK', 'US', 'France')", { c: 'Peru' }, 'FALSE'],
    ["c IN ('UK', 'US', 'France')", {}, 'UNKNOWN'],
    ["c IN ('UK', 'US', 'France')", { c: null }, 'UNKNOWN'],
    ["c NOT IN ('UK', 'US', 'France')", { c: 'Peru' }, 'TRUE'],
    ["c NOT IN ('UK', 'US', 'France')", { c: 'UK' }, 'FALSE'],
    ["c NOT IN ('UK', 'US', 'France')", {}, 'UNKNOWN'],
    ["c IN ('uk')", { c: 'UK' }, 'FALSE'],
    ["c IN ('a''b')", { c: "a'b" }, 'TRUE'],
    ["c IN ('5')", { c: 5 }, 'UNKNOWN'],
    ["c IN ('')", { c: '' }, 'TRUE'],
  ]);

  table('[NOT] LIKE with % and _, ESCAPE, and regex metacharacters taken literally', [
    ["phone LIKE '12%3'", { phone: '123' }, 'TRUE'],
    ["phone LIKE '12%3'", { phone: '12993' }, 'TRUE'],
    ["phone LIKE '12%3'", { phone: '1234' }, 'FALSE'],
    ["phone LIKE '12%3'", {}, 'UNKNOWN'],
    ["phone NOT LIKE '12%3'", { phone: '1234' }, 'TRUE'],
    ["phone NOT LIKE '12%3'", { phone: '123' }, 'FALSE'],
    ["phone NOT LIKE '12%3'", {}, 'UNKNOWN'],
    ["word LIKE 'l_se'", { word: 'lose' }, 'TRUE'],
    ["word LIKE 'l_se'", { word: 'loose' }, 'FALSE'],
    ["underscored LIKE '\\_%' ESCAPE '\\'", { underscored: '_foo' }, 'TRUE'],
    ["underscored LIKE '\\_%' ESCAPE '\\'", { underscored: 'bar' }, 'FALSE'],
    ["a LIKE '100!%' ESCAPE '!'", { a: '100%' }, 'TRUE'],
    ["a LIKE '100!%' ESCAPE '!'", { a: '1000' }, 'FALSE'],
    ["a LIKE 'a!!b' ESCAPE '!'", { a: 'a!b' }, 'TRUE'],
    ["a LIKE 'a!b' ESCAPE '!'", { a: 'a!b' }, 'TRUE'],
    ["a LIKE 'x%!' ESCAPE '!'", { a: 'xyz!' }, 'TRUE'],
    ["a LIKE '%''%'", { a: "it's" }, 'TRUE'],
    ["a LIKE 'a.c'", { a: 'abc' }, 'FALSE'],
    ["a LIKE 'a.c'", { a: 'a.c' }, 'TRUE'],
    ["a LIKE '.*'", { a: 'anything' }, 'FALSE'],
    ["a LIKE '.*'", { a: '.*' }, 'TRUE'],
    ["a LIKE '(x)*[y]+?{2}|^$\\d'", { a: '(x)*[y]+?{2}|^$\\d' }, 'TRUE'],
    ["a LIKE '(x)*[y]+?{2}|^$\\d'", { a: 'xx' }, 'FALSE'],
    ["a LIKE '%[a-z]%'", { a: 'q' }, 'FALSE'],
    ["a LIKE '%[a-z]%'", { a: 'x[a-z]y' }, 'TRUE'],
    ["a LIKE 'x_y'", { a: 'x\ny' }, 'TRUE'],
    ["a LIKE 'x_y'", { a: 'x😀y' }, 'TRUE'],
    ["a LIKE 'a%b'", { a: 'a\n\nb' }, 'TRUE'],
    ["a LIKE 'abc'", { a: 'ABC' }, 'FALSE'],
    ["a LIKE '%a_c%'", { a: 'xxabcxx' }, 'TRUE'],
    ["a LIKE '%a%b%c'", { a: 'aXbYc' }, 'TRUE'],
    ["a LIKE '%a%b%c'", { a: 'acb' }, 'FALSE'],
    ["a LIKE '%%'", { a: '' }, 'TRUE'],
    ["a LIKE ''", { a: '' }, 'TRUE'],
    ["a LIKE ''", { a: 'x' }, 'FALSE'],
    ["a LIKE '5'", { a: 5 }, 'UNKNOWN'],
    ["'abc' LIKE 'a%'", {}, 'TRUE'],
  ]);

  table('IS [NOT] NULL, never UNKNOWN', [
    ['a IS NULL', {}, 'TRUE'],
    ['a IS NULL', { a: null }, 'TRUE'],
    ['a IS NULL', { a: 'x' }, 'FALSE'],
    ['a IS NULL', { a: '' }, 'FALSE'],
    ['a IS NULL', { a: false }, 'FALSE'],
    ['a IS NOT NULL', { a: 'x' }, 'TRUE'],
    ['a IS NOT NULL', {}, 'FALSE'],
    ['a + 1 IS NULL', { a: 'x' }, 'TRUE'],
    ['a + 1 IS NOT NULL', { a: '1' }, 'TRUE'],
    ['(a = 1) IS NULL', {}, 'TRUE'],
  ]);

  table('JMS 1.1 section 3.8.1 examples, with the header names the core provides', [
    ["JMSType = 'car' AND color = 'blue' AND weight > 2500", { JMSType: 'car', color: 'blue', weight: '3000' }, 'TRUE'],
    ["JMSType = 'car' AND color = 'blue' AND weight > 2500", { JMSType: 'car', color: 'blue', weight: '2000' }, 'FALSE'],
    ["JMSType = 'car' AND color = 'blue' AND weight > 2500", { JMSType: 'car', color: 'blue' }, 'UNKNOWN'],
    ['age >= 15 AND age <= 19', { age: '17' }, 'TRUE'],
    ['age BETWEEN 15 AND 19', { age: '20' }, 'FALSE'],
    ['age < 15 OR age > 19', { age: '20' }, 'TRUE'],
    ['age NOT BETWEEN 15 AND 19', { age: '17' }, 'FALSE'],
    ['JMSPriority >= 5', { JMSPriority: 7 }, 'TRUE'],
    ["JMSDeliveryMode = 'PERSISTENT'", { JMSDeliveryMode: 'NON_PERSISTENT' }, 'FALSE'],
    ["JMSCorrelationID IS NULL AND JMSMessageID LIKE 'ID:%'", { JMSMessageID: 'ID:host-1:1:1:1' }, 'TRUE'],
    ['JMSTimestamp > 1700000000000', { JMSTimestamp: 1700000000001 }, 'TRUE'],
    ['JMSRedelivered = FALSE', { JMSRedelivered: false }, 'TRUE'],
    ['prop_name IS NULL', {}, 'TRUE'],
  ]);

  table('identifiers: Java rules and case-sensitive; keywords: any case', [
    ["Color = 'red'", { color: 'red' }, 'UNKNOWN'],
    ['$price_1 = 1', { $price_1: '1' }, 'TRUE'],
    ['_x = 1', { _x: 1 }, 'TRUE'],
    ['número = 1', { número: 1 }, 'TRUE'],
    ['prix€ = 1', { 'prix€': 1 }, 'TRUE'],
    ['ANDROID = 1 and INX = 2 Or notes = 3', { ANDROID: 1, INX: 2 }, 'TRUE'],
    ['a not between 1 and 2', { a: 3 }, 'TRUE'],
    ["a NoT lIkE 'x%'", { a: 'y' }, 'TRUE'],
    ["a not in ('x')", { a: 'y' }, 'TRUE'],
    ['a is not null', { a: 'y' }, 'TRUE'],
    ['flag = true', { flag: true }, 'TRUE'],
    ['\ta\n=\r\n1\f', { a: 1 }, 'TRUE'],
  ]);
});
