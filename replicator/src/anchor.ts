// The anchor: the CRC32C of the last bytes before the replica's durable position in its segment.
// The receiver sends it in its welcome; the sender compares it with the primary's bytes at the
// same place. They differ only if the primary wrote those offsets again (it lost unsynced writes
// in a machine crash and wrote new records there), and then the two journals have diverged.
import { join } from 'node:path';
import { crc32c, segmentFileName, type FileIO } from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import { readRange } from './journal-dir.js';
import { formatPosition, type Position } from './position.js';
import type { Anchor } from './protocol.js';

/** How many bytes before the durable position the anchor covers. */
export const ANCHOR_BYTES = 4096;

export const NO_ANCHOR: Anchor = Object.freeze({ length: 0, crc: 0 });

/** The anchor of `position` in the journal directory `dir`. */
export async function anchorOf(io: FileIO, dir: string, position: Position, max = ANCHOR_BYTES): Promise<Anchor> {
  if (position.offset === 0) return NO_ANCHOR;
  const length = Math.min(max, position.offset);
  const bytes = await readRange(io, join(dir, segmentFileName(position.segment)), position.offset - length, length);
  return { length, crc: crc32c(bytes) };
}

/**
 * Throws TANDEM_ERR_REPLICATION_DIVERGED unless the primary in `dir` holds the anchored bytes. A
 * segment the primary has deleted passes: the tailer reports the deletion and moves on.
 */
export async function checkAnchor(io: FileIO, dir: string, position: Position, anchor: Anchor): Promise<void> {
  if (anchor.length === 0) return;
  if (anchor.length > position.offset) {
    throw new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', `an anchor of ${anchor.length} bytes before offset ${position.offset}`);
  }
  let bytes: Buffer;
  try {
    bytes = await readRange(io, join(dir, segmentFileName(position.segment)), position.offset - anchor.length, anchor.length);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (bytes.length === anchor.length && crc32c(bytes) === anchor.crc) return;
  throw new ReplicationError(
    'TANDEM_ERR_REPLICATION_DIVERGED',
    bytes.length < anchor.length
      ? `the replica holds ${position.offset} bytes of segment ${position.segment} but the primary has fewer`
      : `the ${anchor.length} bytes before the replica's position ${formatPosition(position)} differ from the primary's`,
  );
}
