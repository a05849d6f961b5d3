// The holder record: a small JSON file beside the lock naming who holds it, on which lock directory,
// and with which epoch. It outlives the lock, so the next holder can continue the epoch count.
import { join } from 'node:path';
import type { LockHolder } from './directory-lock.js';
import { LockError, LockErrorCodes } from './lock-errors.js';
import type { LockFs, LockStat } from './lock-fs.js';

/**
 * On-disk names, inside the data directory:
 *
 *   tandem.lock/                    the lock itself: a directory made with mkdir (atomic on every
 *                                   file system, NFS included); its mtime is the lease
 *   tandem.lock.json                the holder record (format below), replaced by rename
 *   tandem.lock.json.<token>.tmp    a record being written; left behind only by a crash mid-write
 *
 * Holder record, JSON:
 *   format      HOLDER_RECORD_FORMAT
 *   epoch       the fencing epoch, previous record's epoch + 1
 *   host, pid   the holder's os.hostname() and process id
 *   hostKey     boot id and pid namespace: two processes can see each other's pids only if equal
 *   token       random per acquisition; tells two holders apart even with equal host and pid
 *   acquiredAt  epoch ms by the holder's clock
 *   lockIno, lockBirthtimeMs   identify the lock directory this record belongs to, so a record
 *               left by an earlier holder is never taken for a newer lock's
 */
export const LOCK_DIR_NAME = 'tandem.lock';
export const HOLDER_FILE_NAME = 'tandem.lock.json';
export const HOLDER_RECORD_FORMAT = 1;

export interface HolderRecord extends LockHolder {
  hostKey: string;
  token: string;
  lockIno: number;
  /** 0 when the file system does not report a birth time. */
  lockBirthtimeMs: number;
}

export function lockPaths(dataDir: string): { dir: string; lockDir: string; holderFile: string } {
  return { dir: dataDir, lockDir: join(dataDir, LOCK_DIR_NAME), holderFile: join(dataDir, HOLDER_FILE_NAME) };
}

export function encodeHolderRecord(record: HolderRecord): Buffer {
  const { epoch, host, hostKey, pid, token, acquiredAt, lockIno, lockBirthtimeMs } = record;
  const json = { format: HOLDER_RECORD_FORMAT, epoch, host, hostKey, pid, token, acquiredAt, lockIno, lockBirthtimeMs };
  return Buffer.from(`${JSON.stringify(json)}\n`, 'utf8');
}

/** Parses a holder record; throws TANDEM_ERR_LOCK_RECORD_CORRUPT naming the first bad field. */
export function decodeHolderRecord(bytes: Buffer, where: string): HolderRecord {
  const corrupt = (why: string): LockError =>
    new LockError(LockErrorCodes.LOCK_RECORD_CORRUPT, `the lock holder record ${where} is corrupt: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw corrupt(`not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('not a JSON object');
  const o = value as Record<string, unknown>;
  if (o['format'] !== HOLDER_RECORD_FORMAT) throw corrupt(`format ${String(o['format'])} is not ${HOLDER_RECORD_FORMAT}`);
  const int = (name: string, min: number): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw corrupt(`${name} must be an integer >= ${min}`);
    return v;
  };
  const num = (name: string): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw corrupt(`${name} must be a number >= 0`);
    return v;
  };
  const str = (name: string): string => {
    const v = o[name];
    if (typeof v !== 'string' || v === '') throw corrupt(`${name} must be a non-empty string`);
    return v;
  };
  return {
    epoch: int('epoch', 1),
    host: str('host'),
    hostKey: str('hostKey'),
    pid: int('pid', 1),
    token: str('token'),
    acquiredAt: int('acquiredAt', 0),
    lockIno: num('lockIno'),
    lockBirthtimeMs: num('lockBirthtimeMs'),
  };
}

/** The record, or undefined when there is none. */
export async function readHolderRecord(fs: LockFs, holderFile: string): Promise<HolderRecord | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(holderFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeHolderRecord(bytes, holderFile);
}

/**
 * Replaces the record atomically and durably: a reader sees the old record or the new one, never
 * a torn mix, and after a crash the new one survives once this resolves.
 */
export async function writeHolderRecord(fs: LockFs, holderFile: string, dir: string, record: HolderRecord): Promise<void> {
  const temp = `${holderFile}.${record.token}.tmp`;
  try {
    await fs.writeNewFileSynced(temp, encodeHolderRecord(record));
    await fs.rename(temp, holderFile);
  } catch (err) {
    await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
  await fs.fsyncDir(dir);
}

/** Whether `stat` is the very lock directory the record was written for. */
export function isRecordedLockDir(record: Pick<HolderRecord, 'lockIno' | 'lockBirthtimeMs'>, stat: LockStat): boolean {
  // Inode numbers are reused at once after rmdir on ext4, so the birth time must match too where
  // the file system reports one.
  return stat.ino === record.lockIno && stat.birthtimeMs === record.lockBirthtimeMs;
}

/** The public view of a record. */
export function holderOf(record: HolderRecord): LockHolder {
  return { host: record.host, pid: record.pid, epoch: record.epoch, acquiredAt: record.acquiredAt };
}
