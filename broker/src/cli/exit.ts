// The CLI's exit statuses and its usage error, shared by `tandem broker` and `tandem pair`.
import { BrokerError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends BrokerError {
  constructor(message: string) {
    super('TANDEM_ERR_USAGE', message);
  }
}
