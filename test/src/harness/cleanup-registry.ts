// Everything a test starts (child processes, temp folders, sockets) is registered here, so it is
// released by the suite's hooks and, as a last resort, when the test process exits, even after a failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const closers = new Set<() => void>();

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Tracks a child for cleanup, hands each whole line of its stdout and stderr to `onLine`, and
 * resolves with how it exited (`onExit` hears it first, synchronously).
 */
export function followChild(child: ChildProcess, onLine: (line: string) => void, onExit: (status: ExitStatus) => void): Promise<ExitStatus> {
  trackChild(child);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (text: string) => {
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) onLine(line);
    });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const status = { code, signal };
      onExit(status);
      resolve(status);
    });
  });
}

/** A fresh folder under the OS temp dir, removed at cleanup. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tandem-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Registers something to destroy (a client socket, a WebSocket) at the next `releaseClients()`. */
export function trackCloser(close: () => void): () => void {
  closers.add(close);
  return () => closers.delete(close);
}

/** Destroys every tracked client; suites call it in afterEach so a failed test leaks no socket. */
export function releaseClients(): void {
  for (const close of closers) {
    try {
      close();
    } catch {
      // Already closed.
    }
  }
  closers.clear();
}

export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

export function removeAllTempDirs(): void {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// The last resort: 'exit' handlers run synchronously, and kill() and rmSync() are synchronous.
process.once('exit', () => {
  releaseClients();
  killAllChildren();
  removeAllTempDirs();
});
