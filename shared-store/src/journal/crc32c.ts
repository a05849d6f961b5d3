// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slice-by-8: eight table lookups per
// eight input bytes. It guards every record and segment header in the journal.

const POLY = 0x82f63b78;
const TABLES = buildTables();

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    first[n] = c >>> 0;
  }
  tables.push(first);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1]!;
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) table[n] = (prev[n]! >>> 8) ^ first[prev[n]! & 0xff]!;
    tables.push(table);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array,
  Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/** The eight tables end to end, so the word loop indexes one array. */
const FLAT = new Int32Array(8 * 256);
TABLES.forEach((table, t) => FLAT.set(table, t * 256));

/** Words are read in the machine's byte order; the word loop is written for little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this, setting up a word view costs more than it saves. */
const WORD_LOOP_MIN = 64;

/**
 * CRC32C of buf[start, end). Pass a previous result as `crc` to continue a running checksum
 * over several pieces.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= WORD_LOOP_MIN) {
    // Up to a 4-byte boundary of the underlying memory, then two aligned words per step: half the
    // loads of reading bytes, which is most of the cost for a journal record's body.
    while ((buf.byteOffset + i) & 3) c = T0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
    const pairs = (end - i) >>> 3;
    const words = new Int32Array(buf.buffer, buf.byteOffset + i, pairs * 2);
    const T = FLAT;
    for (let w = 0; w < words.length; w += 2) {
      const a = words[w]! ^ c;
      const b = words[w + 1]!;
      c =
        T[1792 + (a & 0xff)]! ^
        T[1536 + ((a >>> 8) & 0xff)]! ^
        T[1280 + ((a >>> 16) & 0xff)]! ^
        T[1024 + (a >>> 24)]! ^
        T[768 + (b & 0xff)]! ^
        T[512 + ((b >>> 8) & 0xff)]! ^
        T[256 + ((b >>> 16) & 0xff)]! ^
        T[b >>> 24]!;
    }
    i += pairs * 8;
  } else {
    const stop8 = end - ((end - start) & 7);
    while (i < stop8) {
      const a = (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)) ^ c;
      c =
        T7[a & 0xff]! ^
        T6[(a >>> 8) & 0xff]! ^
        T5[(a >>> 16) & 0xff]! ^
        T4[a >>> 24]! ^
        T3[buf[i + 4]!]! ^
        T2[buf[i + 5]!]! ^
        T1[buf[i + 6]!]! ^
        T0[buf[i + 7]!]!;
      i += 8;
    }
  }
  while (i < end) c = T0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
