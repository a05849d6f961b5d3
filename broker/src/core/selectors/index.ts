// JMS message selectors (the SQL-92 subset of JMS 1.1 section 3.8, as ActiveMQ implements it):
// compile once per subscription, evaluate per message. Rules and choices: docs/adr/0004-selectors.md.
import { compileCondition } from './evaluator.js';
import { parseSelector } from './parser.js';
import { MAX_SELECTOR_LENGTH, invalidSelector } from './selector-error.js';

export { MAX_SELECTOR_DEPTH, MAX_SELECTOR_LENGTH } from './selector-error.js';

/**
 * Looks a property up by its selector identifier, exactly as written (case-sensitive); undefined
 * or null when the message has no such property. The core resolves the JMS header names
 * (JMSPriority, JMSType, ...) itself; the ADR lists them.
 */
export type PropertyLookup = (name: string) => string | number | boolean | null | undefined;

/** True when the message matches: the selector's condition is TRUE, not FALSE or UNKNOWN. */
export type Selector = (lookup: PropertyLookup) => boolean;

const MATCH_ALL: Selector = () => true;
/** The white space the lexer skips (Java's), and nothing else. */
const BLANK = /^[ \t\n\r\f]*$/;

/**
 * Compiles selector text. An empty or blank selector means no selector (JMS 1.1: an empty string
 * is treated as null) and matches every message. Throws BrokerError TANDEM_ERR_INVALID_SELECTOR,
 * with the column and what was expected, for anything else that is not a valid selector.
 */
export function compileSelector(text: string): Selector {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw invalidSelector(
      text,
      MAX_SELECTOR_LENGTH,
      `expected at most ${MAX_SELECTOR_LENGTH} characters, found ${text.length}`,
    );
  }
  if (BLANK.test(text)) return MATCH_ALL;
  const condition = compileCondition(parseSelector(text));
  return (lookup) => condition(lookup) === true;
}
