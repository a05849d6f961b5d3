// The compiled selector as the core uses it: blank selectors, what the lookup is asked, reuse
// across messages, short-circuiting, and robustness against any property value or hostile text.
import { expect } from 'chai';
import { compileSelector, type PropertyLookup } from './index.js';

type Properties = Record<string, string | number | boolean | null>;

function lookupOf(properties: Properties): PropertyLookup {
  return (name) => (Object.hasOwn(properties, name) ? properties[name] : undefined);
}

describe('selectors: compiling and matching', () => {
  it('an empty or blank selector is no selector and matches every message (JMS 1.1)', () => {
    for (const text of ['', '   ', '\t\n']) expect(compileSelector(text)(() => undefined), text).to.equal(true);
  });

  it("accepts ActiveMQ's convert_string_expressions: prefix, conversion being always on", () => {
    const selector = compileSelector('convert_string_expressions:price > 10');
    expect(selector(() => '11')).to.equal(true);
    expect(selector(() => '9')).to.equal(false);
  });

  it('gives the lookup each identifier exactly as written', () => {
    const asked: string[] = [];
    compileSelector("JMSPriority > 4 AND myProp = 'x' AND Other IS NULL")((name) => {
      asked.push(name);
      return name === 'JMSPriority' ? 5 : name === 'myProp' ? 'x' : undefined;
    });
    expect(asked).to.deep.equal(['JMSPriority', 'myProp', 'Other']);
  });

  it('stops at the first operand that decides an AND or an OR', () => {
    const asked: string[] = [];
    const lookup: PropertyLookup = (name) => {
      asked.push(name);
      return 1;
    };
    expect(compileSelector('a = 2 AND b = 1')(lookup)).to.equal(false);
    expect(compileSelector('a = 1 OR b = 1')(lookup)).to.equal(true);
    expect(asked).to.deep.equal(['a', 'a']);
  });

  it('one compiled selector serves many messages', () => {
    const selector = compileSelector("region = 'eu' AND qty * price > 100");
    const messages: Properties[] = [
      { region: 'eu', qty: '3', price: '40' },
      { region: 'us', qty: '3', price: '40' },
      { region: 'eu', qty: '2', price: '40' },
      { region: 'eu', qty: 'many', price: '40' },
    ];
    expect(messages.map((m) => selector(lookupOf(m)))).to.deep.equal([true, false, false, false]);
  });

  it('treats undefined, null and NaN from the lookup alike, as an absent property', () => {
    for (const value of [undefined, null, Number.NaN]) {
      expect(compileSelector('a IS NULL')(() => value), String(value)).to.equal(true);
    }
  });

  it('treats a value of no selector type (an object, a function) as an absent property', () => {
    const headers: Record<string, string> = { region: 'eu' };
    // A lookup over a plain object hands back Object.prototype members for these names.
    const lookup = ((name: string) => headers[name]) as PropertyLookup;
    expect(compileSelector('constructor IS NULL AND toString IS NULL')(lookup)).to.equal(true);
    expect(compileSelector("region = 'eu'")(lookup)).to.equal(true);
  });

  it('never throws at match time, whatever type the properties have', () => {
    const selectors = [
      'a = 1', "a = 'x'", 'a = TRUE', 'a', 'a > b', 'a + b * c / d = 1', 'a BETWEEN b AND c',
      "a LIKE 'x%'", "a IN ('x')", 'a IS NULL', 'NOT a', '-a < 0', 'a = b',
    ];
    const values = [undefined, null, '', 'x', '12', '1e400', 'true', 0, -0, 1.5, 1e308, Infinity, true, false];
    let matched = 0;
    for (const text of selectors) {
      const selector = compileSelector(text);
      for (const value of values) {
        for (const other of values) {
          if (selector((name) => (name === 'a' ? value : other))) matched++;
        }
      }
    }
    expect(matched).to.be.greaterThan(0);
  });

  it('matches a hostile LIKE pattern against a long value without backtracking blow-up', () => {
    const selector = compileSelector(`a LIKE '${'%a'.repeat(40)}%b'`);
    expect(selector(() => 'a'.repeat(5000))).to.equal(false);
    expect(selector(() => `${'a'.repeat(5000)}b`)).to.equal(true);
  });

  it('compiles a long OR chain of 4096 characters into one flat node', () => {
    let text = 'id = 0';
    for (let i = 1; text.length + ` OR id = ${i}`.length <= 4096; i++) text += ` OR id = ${i}`;
    const selector = compileSelector(text);
    expect(selector(() => '7')).to.equal(true);
    expect(selector(() => '-1')).to.equal(false);
  });

  it('accepts 100 levels of parentheses', () => {
    const selector = compileSelector(`${'('.repeat(100)}a = 1${')'.repeat(100)}`);
    expect(selector(() => 1)).to.equal(true);
  });
});
