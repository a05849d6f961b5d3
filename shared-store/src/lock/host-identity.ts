// Who this process is, for the holder record, and whether a recorded holder's process still runs.
// The pid check is only sound between processes that see the same pid space, hence the host key.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  host: string;
  /**
   * Equal only for processes that can see each other's pids: the host name plus, where Linux
   * exposes them, the boot id (a reboot reuses pids) and the pid namespace (containers on one host
   * each count pids from 1).
   */
  hostKey: string;
  pid: number;
}

function readOr(read: () => string, fallback: string): string {
  try {
    return read().trim();
  } catch {
    return fallback;
  }
}

export function currentIdentity(): ProcessIdentity {
  const host = hostname();
  const bootId = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'), '-');
  const pidNamespace = readOr(() => readlinkSync('/proc/self/ns/pid'), '-');
  return { host, hostKey: `${host}/${bootId}/${pidNamespace}`, pid: process.pid };
}

/**
 * Signal 0 checks for existence without delivering anything. Only ESRCH proves the process is
 * gone; EPERM means it runs under another user, and any other doubt counts as alive, because
 * breaking a live holder's lock is the one mistake the pid check must never make.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
