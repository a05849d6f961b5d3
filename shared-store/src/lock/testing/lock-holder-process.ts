// A process that contends for a data-directory lock and reports what happens, one JSON line per
// event on stdout, for tests that kill, pause and signal real holders. Usage:
//   node lock-holder-process.js '{"dataDir":"/tmp/x","leaseMs":2000,"pidCheck":true}'
// stdin commands, one a line: `verify` (answers {"event":"verified","held":...}), `release`.
// SIGTERM releases the lock, then exits 0.
import { createInterface } from 'node:readline';
import { FileDirectoryLock, type FileDirectoryLockOptions } from '../file-lock.js';

const options = JSON.parse(process.argv[2] ?? '{}') as FileDirectoryLockOptions;
const lock = new FileDirectoryLock(options);

function report(event: string, fields: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, pid: process.pid, ...fields })}\n`);
}

lock.onLost((loss) => report('lost', loss));
process.on('SIGTERM', () => {
  void lock.release().then(() => {
    report('released');
    process.exit(0);
  });
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'verify') void lock.verify().then((held) => report('verified', { held }));
  else if (command === 'release') void lock.release().then(() => report('released'));
});

report('started');
lock.acquire().then(
  (acquisition) => report('acquired', acquisition),
  (err: Error) => {
    report('failed', { message: err.message });
    process.exit(1);
  },
);
