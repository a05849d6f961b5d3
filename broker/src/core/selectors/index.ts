// JMS message selectors (the SQL-92 subset): compile once, evaluate per message. (Being written.)
import { BrokerError } from '../../errors.js';

/** Looks a property up by its selector identifier; undefined or null when absent. */
export type PropertyLookup = (name: string) => string | number | boolean | null | undefined;

export type Selector = (lookup: PropertyLookup) => boolean;

/** Throws BrokerError TANDEM_ERR_INVALID_SELECTOR, with the position, for bad text. */
export function compileSelector(text: string): Selector {
  throw new BrokerError('TANDEM_ERR_INVALID_SELECTOR', `selectors are not available yet: ${text}`);
}
