// A logger whose lines a test can read back as objects.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@tandem-mq/shared-store';

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  events(name: string): Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines, events: (name) => lines.filter((l) => l['event'] === name) };
}
