// The replica directory: segment files written at the positions the primary's bytes came from,
// and the cursor saying how far they are durable. open() cuts the files back to the cursor, so
// bytes written after the last durable position (before a crash) are simply received again.
import { join } from 'node:path';
import {
  nodeFileIO,
  parseSegmentFileName,
  segmentFileName,
  silentLogger,
  writeFully,
  type FileHandleIO,
  type FileIO,
  type Logger,
} from '@tandem-mq/shared-store';
import { Cursor } from './cursor.js';
import { ReplicationError } from './errors.js';
import { formatPosition, samePosition, START, type Position } from './position.js';
import { anchorOf } from './anchor.js';
import type { Anchor } from './protocol.js';

export interface ReplicaStoreOptions {
  dir: string;
  io?: FileIO;
  logger?: Logger;
  now?: () => number;
}

interface SegmentOnDisk {
  first: number;
  size: number;
}

export class ReplicaStore {
  readonly dir: string;
  private readonly io: FileIO;
  private readonly logger: Logger;
  private readonly cursor: Cursor;
  private applied: Position = START;
  private durablePos: Position = START;
  private appliedObservedAt: number | undefined;
  private durableObservedAtValue: number | undefined;
  /** The segment being appended to. */
  private current: { segment: number; handle: FileHandleIO } | undefined;
  /** Handles written since the last sync (the current one and any just finished). */
  private dirty = new Set<FileHandleIO>();
  /** Finished segments' handles, closed after the next sync. */
  private retiring: FileHandleIO[] = [];
  private namesChanged = false;
  private opened = false;
  /** Bytes of segment data in the directory when it was opened. */
  bytesAtOpen = 0;

  constructor(options: ReplicaStoreOptions) {
    this.dir = options.dir;
    this.io = options.io ?? nodeFileIO;
    this.logger = options.logger ?? silentLogger();
    this.cursor = new Cursor(options.dir, this.io, options.now);
  }

  /** Everything written up to here survives a crash. */
  get durable(): Position {
    return { ...this.durablePos };
  }

  /** Everything received and written up to here; durable after the next sync(). */
  get position(): Position {
    return { ...this.applied };
  }

  /** When the primary first saw the last durable record (its clock), if known: the RPO time. */
  get durableObservedAt(): number | undefined {
    return this.durableObservedAtValue;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Reads the cursor and cuts the segment files back to it. Safe to call again after a failure. */
  async open(): Promise<Position> {
    await this.close();
    await this.io.mkdir(this.dir);
    const full = await this.cursor.readFull();
    const stored = full?.position;
    const files = await this.segments();
    let changed = false;
    if (stored === undefined) {
      if (files.length > 0) {
        throw new ReplicationError(
          'TANDEM_ERR_REPLICATION_CURSOR',
          `${this.dir} holds journal segments but no replication cursor: it was not written by a receiver, or the cursor was lost`,
        );
      }
    } else {
      let found = stored.offset === 0;
      for (const f of files) {
        const path = join(this.dir, segmentFileName(f.first));
        if (f.first > stored.segment || (f.first === stored.segment && stored.offset === 0)) {
          await this.io.unlink(path);
          changed = true;
          this.logger.info({ event: 'replication.replica-trimmed', segment: f.first, removed: f.size }, 'removed a segment received after the last durable position');
        } else if (f.first === stored.segment) {
          found = true;
          if (f.size < stored.offset) {
            throw new ReplicationError(
              'TANDEM_ERR_REPLICATION_CURSOR',
              `segment ${segmentFileName(f.first)} has ${f.size} bytes but the cursor says ${stored.offset} are durable`,
            );
          }
          if (f.size > stored.offset) {
            const handle = await this.io.open(path, 'append');
            try {
              await handle.truncate(stored.offset);
              await handle.datasync();
            } finally {
              await handle.close();
            }
            this.logger.info({ event: 'replication.replica-trimmed', segment: f.first, removed: f.size - stored.offset }, 'cut a segment back to the last durable position');
          }
        }
      }
      if (!found) {
        throw new ReplicationError('TANDEM_ERR_REPLICATION_CURSOR', `the cursor names ${formatPosition(stored)} but segment ${segmentFileName(stored.segment)} is missing`);
      }
      if (changed) await this.io.fsyncDir(this.dir);
    }
    const position = stored ?? START;
    this.applied = { ...position };
    this.durablePos = { ...position };
    this.appliedObservedAt = this.durableObservedAtValue = full?.observedAt;
    this.bytesAtOpen = files.filter((f) => f.first < position.segment).reduce((sum, f) => sum + f.size, 0) + position.offset;
    this.opened = true;
    return this.durable;
  }

  /**
   * Writes bytes at the receiver's position: the rest of the current segment, or (offset 0) a new
   * segment file. The caller has checked that `position` follows on.
   */
  async write(position: Position, bytes: Buffer, observedAt?: number): Promise<void> {
    if (position.offset === 0) {
      if (this.current !== undefined) this.retiring.push(this.current.handle);
      this.current = { segment: position.segment, handle: await this.create(position.segment) };
      this.namesChanged = true;
    } else if (this.current === undefined || this.current.segment !== position.segment) {
      if (this.current !== undefined) this.retiring.push(this.current.handle);
      this.current = { segment: position.segment, handle: await this.io.open(join(this.dir, segmentFileName(position.segment)), 'append') };
    }
    await writeFully(this.current.handle, bytes, position.offset);
    this.dirty.add(this.current.handle);
    this.applied = { segment: position.segment, offset: position.offset + bytes.length };
    if (observedAt !== undefined) this.appliedObservedAt = observedAt;
  }

  /** The anchor of the durable position, for the welcome (see anchor.ts). */
  anchor(): Promise<Anchor> {
    return anchorOf(this.io, this.dir, this.durablePos);
  }

  /** Makes everything written durable, then records it in the cursor. */
  async sync(): Promise<Position> {
    if (samePosition(this.applied, this.durablePos)) return this.durable;
    for (const handle of this.dirty) await handle.datasync();
    this.dirty.clear();
    if (this.namesChanged) {
      await this.io.fsyncDir(this.dir);
      this.namesChanged = false;
    }
    for (const handle of this.retiring.splice(0)) await handle.close().catch(() => undefined);
    await this.cursor.write(this.applied, this.appliedObservedAt);
    this.durablePos = { ...this.applied };
    this.durableObservedAtValue = this.appliedObservedAt;
    return this.durable;
  }

  /**
   * The primary has no segment before `below`. Deletes the replica's copies; when that includes the
   * segment being received, the position moves to (below, 0) first, durably. Call after sync().
   */
  async deleteBelow(below: number): Promise<number> {
    if (this.applied.segment < below) {
      const moved = { segment: below, offset: 0 };
      await this.cursor.write(moved, this.appliedObservedAt);
      this.applied = moved;
      this.durablePos = { ...moved };
      if (this.current !== undefined) this.retiring.push(this.current.handle);
      this.current = undefined;
      for (const handle of this.retiring.splice(0)) await handle.close().catch(() => undefined);
      this.dirty.clear();
    }
    let deleted = 0;
    for (const f of await this.segments()) {
      if (f.first >= below) continue;
      await this.io.unlink(join(this.dir, segmentFileName(f.first)));
      deleted++;
    }
    if (deleted > 0) await this.io.fsyncDir(this.dir);
    return deleted;
  }

  async close(): Promise<void> {
    const handles = [...this.retiring.splice(0), ...(this.current === undefined ? [] : [this.current.handle])];
    this.current = undefined;
    this.dirty.clear();
    this.namesChanged = false;
    this.opened = false;
    for (const handle of handles) await handle.close().catch(() => undefined);
  }

  /** Segment files in the directory, oldest first. */
  async segments(): Promise<SegmentOnDisk[]> {
    const out: SegmentOnDisk[] = [];
    for (const name of await this.io.readdir(this.dir)) {
      const first = parseSegmentFileName(name);
      if (first === undefined) continue;
      const stat = await this.io.stat(join(this.dir, name));
      if (stat !== undefined) out.push({ first, size: stat.size });
    }
    return out.sort((a, b) => a.first - b.first);
  }

  private async create(segment: number): Promise<FileHandleIO> {
    const path = join(this.dir, segmentFileName(segment));
    try {
      return await this.io.open(path, 'create');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Left by a write that failed before it was durable: start the file again.
      const handle = await this.io.open(path, 'append');
      await handle.truncate(0);
      return handle;
    }
  }
}
