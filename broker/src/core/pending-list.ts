// The messages a channel holds for dispatch: highest priority first, then seq order, so a message
// handed back returns to its place. Appending and taking from the head are O(1).
import type { Entry } from './message.js';

export const TAKE = 0;
export const SKIP = 1;
export const STOP = 2;
export type ScanVerdict = typeof TAKE | typeof SKIP | typeof STOP;

const PRIORITIES = 10;

class Bucket {
  items: Array<Entry | undefined> = [];
  /** Index of the first live item; the slots before it are spent. */
  head = 0;

  get live(): number {
    return this.items.length - this.head;
  }

  insert(entry: Entry): void {
    const items = this.items;
    const seq = entry.data.seq;
    if (this.head === items.length || items[items.length - 1]!.data.seq < seq) {
      items.push(entry);
      return;
    }
    let low = this.head;
    let high = items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (items[mid]!.data.seq < seq) low = mid + 1;
      else high = mid;
    }
    if (low === this.head && this.head > 0) items[--this.head] = entry;
    else items.splice(low, 0, entry);
  }

  /** Compacts once the spent prefix dominates, so memory follows the live count. */
  tidy(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export class PendingList {
  private readonly buckets: Array<Bucket | undefined> = new Array(PRIORITIES);
  private count = 0;
  private scanning = false;
  /** Inserts that arrive while a scan runs (a sink calling back into the core) wait here. */
  private deferred: Entry[] = [];

  get size(): number {
    return this.count + this.deferred.length;
  }

  insert(entry: Entry): void {
    if (this.scanning) {
      this.deferred.push(entry);
      return;
    }
    const priority = entry.data.priority;
    let bucket = this.buckets[priority];
    if (bucket === undefined) bucket = this.buckets[priority] = new Bucket();
    bucket.insert(entry);
    this.count++;
  }

  /** Visits entries in dispatch order; TAKE removes the entry, SKIP leaves it, STOP ends the scan. */
  scan(visit: (entry: Entry) => ScanVerdict): void {
    if (this.count === 0) return;
    this.scanning = true;
    try {
      for (let priority = PRIORITIES - 1; priority >= 0; priority--) {
        const bucket = this.buckets[priority];
        if (bucket === undefined || bucket.live === 0) continue;
        const stopped = this.scanBucket(bucket, visit);
        bucket.tidy();
        if (stopped) break;
      }
    } finally {
      this.scanning = false;
      const deferred = this.deferred;
      if (deferred.length > 0) {
        this.deferred = [];
        for (const entry of deferred) this.insert(entry);
      }
    }
  }

  /** Removes and returns every entry the predicate selects, in dispatch order. */
  removeWhere(select: (entry: Entry) => boolean): Entry[] {
    const removed: Entry[] = [];
    this.scan((entry) => {
      if (!select(entry)) return SKIP;
      removed.push(entry);
      return TAKE;
    });
    return removed;
  }

  /** Empties the list, returning what it held in dispatch order. */
  drain(): Entry[] {
    return this.removeWhere(() => true);
  }

  private scanBucket(bucket: Bucket, visit: (entry: Entry) => ScanVerdict): boolean {
    const items = bucket.items;
    let i = bucket.head;
    while (i < items.length) {
      const verdict = visit(items[i]!);
      if (verdict === STOP) return true;
      if (verdict === SKIP) {
        i++;
        continue;
      }
      this.count--;
      if (i === bucket.head) {
        items[i] = undefined;
        bucket.head = ++i;
      } else {
        items.splice(i, 1);
      }
    }
    return false;
  }
}
