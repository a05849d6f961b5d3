// The replica's durable position, kept in a small file beside the segments. It is replaced
// atomically (write a temporary file, fdatasync, rename, fsync the directory), so after any crash
// it holds either the old position or the new one, never a mix.
import { join } from 'node:path';
import { nodeFileIO, readWholeFile, replaceFile, type FileIO } from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import type { Position } from './position.js';

export const CURSOR_FILE_NAME = 'replication.cursor.json';
const CURSOR_VERSION = 1;

export interface CursorFile {
  version: number;
  segment: number;
  offset: number;
  /** Epoch ms of the write, for operators reading the file. */
  updatedAt: number;
  /** When the primary first saw the last record up to here (its clock): a failover's RPO time. */
  observedAt?: number;
}

export class Cursor {
  private readonly path: string;

  constructor(
    private readonly dir: string,
    private readonly io: FileIO = nodeFileIO,
    private readonly now: () => number = Date.now,
  ) {
    this.path = join(dir, CURSOR_FILE_NAME);
  }

  /** The stored position, or undefined when there is no cursor file. */
  async read(): Promise<Position | undefined> {
    return (await this.readFull())?.position;
  }

  /** The stored position and the observedAt of its last record, when recorded. */
  async readFull(): Promise<{ position: Position; observedAt: number | undefined } | undefined> {
    if ((await this.io.stat(this.path)) === undefined) return undefined;
    let text: string;
    try {
      text = (await readWholeFile(this.io, this.path)).toString('utf8');
    } catch (cause) {
      throw new ReplicationError('TANDEM_ERR_REPLICATION_CURSOR', `cannot read ${this.path}: ${(cause as Error).message}`, { cause });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ReplicationError('TANDEM_ERR_REPLICATION_CURSOR', `${this.path} is not JSON`);
    }
    const c = value as Partial<CursorFile> | null;
    if (
      c === null ||
      typeof c !== 'object' ||
      c.version !== CURSOR_VERSION ||
      !Number.isSafeInteger(c.segment) ||
      !Number.isSafeInteger(c.offset) ||
      c.segment! < 0 ||
      c.offset! < 0
    ) {
      throw new ReplicationError('TANDEM_ERR_REPLICATION_CURSOR', `${this.path} does not hold a version ${CURSOR_VERSION} cursor: ${text.slice(0, 200)}`);
    }
    const observedAt = Number.isSafeInteger(c.observedAt) ? c.observedAt : undefined;
    return { position: { segment: c.segment!, offset: c.offset! }, observedAt };
  }

  /** Replaces the stored position; resolves once the new one survives a crash. */
  async write(position: Position, observedAt?: number): Promise<void> {
    const body: CursorFile = { version: CURSOR_VERSION, segment: position.segment, offset: position.offset, updatedAt: this.now() };
    if (observedAt !== undefined) body.observedAt = observedAt;
    await replaceFile(this.io, this.dir, this.path, Buffer.from(JSON.stringify(body) + '\n'));
  }
}
