// The CLI's exit statuses, its usage error, and its flag parsing, shared by its commands.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BrokerError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends BrokerError {
  constructor(message: string) {
    super('TANDEM_ERR_USAGE', message);
  }
}

type Flags = NonNullable<ParseArgsConfig['options']>;
type FlagValues<O extends Flags> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/** A command's flags: no positionals, an unknown or malformed flag is a UsageError (after `prefix`). */
export function parseFlags<const O extends Flags>(args: string[], options: O, prefix = ''): FlagValues<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${prefix}${(error as Error).message}`);
  }
}
