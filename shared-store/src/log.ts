// The one logger factory. Events an operator acts on carry a stable `event` field.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerSettings {
  level?: string;
  name?: string;
  /** Where lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env['TANDEM_LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid, ...(settings.name === undefined ? {} : { name: settings.name }) },
  };
  return settings.destination === undefined
    ? pino(options)
    : pino(options, settings.destination as pino.DestinationStream);
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
