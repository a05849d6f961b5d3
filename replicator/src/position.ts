// A place in the journal as replication names it: a segment (by its first offset) and a byte
// offset inside that file. Segment names are journal offsets, so every position also maps to one
// journal offset, and positions compare by it.

export interface Position {
  /** First journal offset of the segment, as in its file name. */
  segment: number;
  /** Bytes of that file before this position; 0 is "nothing of this segment yet". */
  offset: number;
}

/** Before everything: the position of an empty replica. */
export const START: Position = Object.freeze({ segment: 0, offset: 0 });

/** The journal offset a position stands for. (A, size of A) and (next segment, 0) are the same. */
export function journalOffset(p: Position): number {
  return p.segment + p.offset;
}

export function samePosition(a: Position, b: Position): boolean {
  return a.segment === b.segment && a.offset === b.offset;
}

export function formatPosition(p: Position): string {
  return `${p.segment}+${p.offset}`;
}

/** The JSON shape the admin API and the logs use. */
export function describePosition(p: Position): { segment: number; offset: number; journalOffset: number } {
  return { segment: p.segment, offset: p.offset, journalOffset: journalOffset(p) };
}
