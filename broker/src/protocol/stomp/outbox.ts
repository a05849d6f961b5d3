// The bytes a session has queued for its transport. Frames are written straight into large shared
// slabs, so a burst of frames costs neither an allocation per frame nor a write call per frame: a
// flush hands a byte stream a few long runs of bytes, or a message transport (WebSocket) one buffer
// per frame. Pure bytes, no sockets.

/** Bytes per slab; a frame that needs more than is left starts a new slab. */
const SLAB_SIZE = 64 * 1024;
/** Larger byte runs (big bodies) are passed on by reference instead of copied into a slab. */
const COPY_LIMIT = 16 * 1024;

// One slab is shared by every outbox, like Node's own Buffer pool: memory follows what is queued,
// not how many connections are open (an idle session holds no slab). Bytes before `used` are never
// written again, so a run handed to a socket stays intact until the socket is done with it.
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let used = 0;

export class Outbox {
  /** Bytes queued since the last take(). */
  length = 0;
  private chunks: Buffer[] = [];
  /** With frame tracking on: where each frame queued so far ends, counted in queued bytes. */
  private frameEnds: number[] | undefined;

  /** `frames`: remember where frames end, for takeFrames(). */
  constructor(options: { frames?: boolean } = {}) {
    if (options.frames === true) this.frameEnds = [];
  }
  /** The run this outbox is extending, in `runSlab` from `runStart` to `runEnd`. */
  private runSlab: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;

  /** Text as UTF-8. */
  string(text: string): void {
    if (text.length >= COPY_LIMIT) {
      // Room for the worst case would be three times its length: a large text gets its own buffer.
      this.bytes(Buffer.from(text, 'utf8'));
      return;
    }
    // A UTF-16 code unit never needs more than three UTF-8 bytes.
    this.reserve(text.length * 3);
    const written = slab.write(text, used);
    this.advance(written);
  }

  bytes(data: Uint8Array): void {
    if (data.length >= COPY_LIMIT) {
      this.closeRun();
      this.chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
      this.length += data.length;
      return;
    }
    this.reserve(data.length);
    slab.set(data, used);
    this.advance(data.length);
  }

  byte(value: number): void {
    this.reserve(1);
    slab[used] = value;
    this.advance(1);
  }

  /** The bytes queued since the previous call form one frame (with frame tracking on). */
  endFrame(): void {
    this.frameEnds?.push(this.length);
  }

  /** Everything queued, in order, as few buffers as the slabs allow; the outbox is empty after. */
  take(): Buffer[] {
    this.closeRun();
    const chunks = this.chunks;
    this.chunks = [];
    this.length = 0;
    if (this.frameEnds !== undefined) this.frameEnds = [];
    return chunks;
  }

  /** Everything queued, one buffer per frame (bytes after the last endFrame() count as one). */
  takeFrames(): Buffer[] {
    const ends = this.frameEnds ?? [];
    const total = this.length;
    if (ends[ends.length - 1] !== total) ends.push(total);
    const chunks = this.take();
    const frames: Buffer[] = [];
    let chunk = 0;
    let offset = 0;
    let start = 0;
    for (const end of ends) {
      if (end <= start) continue;
      const pieces: Buffer[] = [];
      for (let need = end - start; need > 0; ) {
        const current = chunks[chunk]!;
        const n = Math.min(need, current.length - offset);
        pieces.push(current.subarray(offset, offset + n));
        need -= n;
        offset += n;
        if (offset === current.length) {
          chunk++;
          offset = 0;
        }
      }
      frames.push(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, end - start));
      start = end;
    }
    return frames;
  }

  clear(): void {
    this.runSlab = undefined;
    this.chunks = [];
    this.length = 0;
    if (this.frameEnds !== undefined) this.frameEnds = [];
  }

  /** Makes room for `n` bytes at the shared position and makes it the end of this outbox's run. */
  private reserve(n: number): void {
    if (slab.length - used < n) {
      this.closeRun();
      slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      used = 0;
    }
    // Another outbox wrote since: this one's bytes continue in a new run.
    if (this.runSlab !== slab || this.runEnd !== used) {
      this.closeRun();
      this.runSlab = slab;
      this.runStart = this.runEnd = used;
    }
  }

  private advance(n: number): void {
    used += n;
    this.runEnd = used;
    this.length += n;
  }

  private closeRun(): void {
    if (this.runSlab !== undefined && this.runEnd > this.runStart) {
      this.chunks.push(this.runSlab.subarray(this.runStart, this.runEnd));
    }
    this.runSlab = undefined;
  }
}
