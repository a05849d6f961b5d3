#!/usr/bin/env node
// `node replicator/dist/cli.js replicator|receiver --config FILE` (also `tandem replicator|receiver`).
import { runReplicationCommand } from './command.js';

runReplicationCommand(process.argv.slice(2)).then(
  (code) => {
    // Let pino flush its last lines before the process goes.
    setTimeout(() => process.exit(code), 50);
  },
  (error: unknown) => {
    process.stderr.write(`tandem: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
