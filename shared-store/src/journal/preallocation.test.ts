// Preallocated segments: the head is filled with zeros ahead of its data, a finished or closed
// segment is cut back to its last record, and recovery reads a zero tail as the end of the data,
// never as damage, while zeros with records after them are still corruption.
import { expect } from 'chai';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, StoreErrorCodes } from '../errors.js';
import { tempDir } from '../testing/helpers.js';
import { PREALLOCATE_BYTES, RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './constants.js';
import { FaultyFileIO } from './file-io.js';
import { Journal, type JournalOptions } from './journal.js';
import { encodeRecord, type JournalRecord } from './records/index.js';
import { segmentFileName } from './segment.js';

function ack(seq: number, target = '/queue/a'): JournalRecord {
  return { type: 'ack', txId: 0, seq, target };
}

const ACK_FRAME = encodeRecord(ack(1)).length;
const SHUTDOWN_FRAME = encodeRecord({ type: 'clean-shutdown', timestamp: 0 }).length;

describe('Journal: preallocated segments', function () {
  let dir: string;
  let remove: () => Promise<void>;
  const opened: Journal[] = [];

  beforeEach(async function () {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async function () {
    for (const j of opened.splice(0)) await j.close().catch(() => undefined);
    await remove();
  });

  const preallocating = (): FaultyFileIO => new FaultyFileIO(undefined, { preallocate: true });

  async function open(options: Partial<JournalOptions> = {}) {
    const journal = new Journal({ dir, mode: 'durability', fileIO: preallocating(), ...options });
    opened.push(journal);
    const seen: number[] = [];
    const report = await journal.open((record) => seen.push(record.type === 'ack' ? record.seq : -1));
    return { journal, seen, report };
  }

  const sizeOf = async (firstOffset = 0): Promise<number> => (await stat(join(dir, segmentFileName(firstOffset)))).size;

  it('fills the head with zeros ahead of the data, in one extra write per chunk', async function () {
    const io = preallocating();
    const { journal } = await open({ fileIO: io });
    expect(await sizeOf(), 'nothing is preallocated before the first write').to.equal(SEGMENT_HEADER_SIZE);
    io.resetCounters();
    await journal.append(ack(1));
    expect(io.writes, 'zeros, then the record').to.equal(2);
    expect(io.syncs).to.equal(1);
    const allocated = await sizeOf();
    expect(allocated).to.equal(SEGMENT_HEADER_SIZE + PREALLOCATE_BYTES);
    for (let i = 2; i <= 20; i++) await journal.append(ack(i));
    expect(io.writes, 'later records land in the zeros').to.equal(21);
    expect(await sizeOf(), 'the file did not grow').to.equal(allocated);
    const bytes = await readFile(join(dir, segmentFileName(0)));
    expect(bytes.subarray(SEGMENT_HEADER_SIZE + 20 * ACK_FRAME).every((b) => b === 0)).to.equal(true);
  });

  it('cuts the zeros on close, so a closed journal holds exactly its records', async function () {
    const { journal } = await open();
    for (let i = 1; i <= 3; i++) await journal.append(ack(i));
    await journal.close();
    expect(await sizeOf()).to.equal(SEGMENT_HEADER_SIZE + 3 * ACK_FRAME + SHUTDOWN_FRAME);
    const again = await open();
    expect(again.report.problems).to.deep.equal([]);
    expect(again.report.cleanShutdown).to.equal(true);
    expect(again.seen).to.deep.equal([1, 2, 3, -1]);
  });

  it('after a crash reads the zero tail as the end: no problem, an unclean start, appends go on at the data', async function () {
    const io = preallocating();
    const first = await open({ fileIO: io });
    for (let i = 1; i <= 3; i++) await first.journal.append(ack(i));
    const allocated = await sizeOf();
    io.crash(); // kill -9: the zeros stay, nothing is cut
    const second = await open();
    expect(second.report.problems).to.deep.equal([]);
    expect(second.report.cleanShutdown).to.equal(false);
    expect(second.report.segments[0]!.size).to.equal(SEGMENT_HEADER_SIZE + 3 * ACK_FRAME);
    expect(second.seen).to.deep.equal([1, 2, 3]);
    expect(await sizeOf(), 'the zeros are kept for the head to write into').to.equal(allocated);
    await second.journal.append(ack(4));
    expect(await sizeOf()).to.equal(allocated);
    await second.journal.close();
    const third = await open();
    expect(third.report.problems).to.deep.equal([]);
    expect(third.seen).to.deep.equal([1, 2, 3, 4, -1]);
  });

  it('cuts each finished segment to its last record when it rolls', async function () {
    const { journal } = await open({ segmentSize: 64 * 1024 });
    const waiters = [];
    for (let i = 1; i <= 200; i++) waiters.push(journal.append({ type: 'ack', txId: 0, seq: i, target: 't'.repeat(1000) }));
    await Promise.all(waiters);
    const names = (await readdir(dir)).sort();
    expect(names.length).to.be.greaterThan(2);
    let expectedOffset = 0;
    for (const name of names.slice(0, -1)) {
      expect(name).to.equal(segmentFileName(expectedOffset));
      const size = (await stat(join(dir, name))).size;
      expect(size).to.be.at.most(64 * 1024);
      expectedOffset += size;
    }
    expect(names.at(-1)).to.equal(segmentFileName(expectedOffset));
    // The head may reach a whole record header past segmentSize in zeros, so the end is always readable.
    expect(await sizeOf(expectedOffset)).to.be.at.most(64 * 1024 + RECORD_HEADER_SIZE);
    await journal.close();
    const again = await open({ segmentSize: 64 * 1024 });
    expect(again.report.problems).to.deep.equal([]);
    expect(again.seen).to.deep.equal([...Array.from({ length: 200 }, (_, i) => i + 1), -1]);
  });

  it('reports a torn write into the zeros and cuts it, like any torn tail', async function () {
    const io = preallocating();
    const { journal } = await open({ fileIO: io });
    await journal.append(ack(1));
    const dataEnd = SEGMENT_HEADER_SIZE + ACK_FRAME;
    io.tearNextWriteAt(20);
    await journal.append(ack(2)).catch(() => undefined);
    expect(journal.state).to.equal('failed');
    const again = await open();
    expect(again.report.problems).to.have.length(1);
    expect(again.report.problems[0]).to.include({ segment: segmentFileName(0), offset: dataEnd, action: 'truncated' });
    expect(again.seen).to.deep.equal([1]);
    expect(await sizeOf()).to.equal(dataEnd);
  });

  it('refuses zeros followed by good records (writes lost out of order) as corruption, and repair skips them', async function () {
    const { journal } = await open();
    for (let i = 1; i <= 4; i++) await journal.append(ack(i));
    await journal.close();
    const path = join(dir, segmentFileName(0));
    const bytes = await readFile(path);
    const secondAt = SEGMENT_HEADER_SIZE + ACK_FRAME;
    bytes.fill(0, secondAt, secondAt + 2 * ACK_FRAME); // records 2 and 3 never reached the disk
    await writeFile(path, bytes);
    let error: unknown;
    await open().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(StoreError);
    expect((error as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_CORRUPT);
    expect((error as StoreError).message).to.include(`${segmentFileName(0)} is corrupt at offset ${secondAt}`);
    const repaired = await open({ repair: true });
    expect(repaired.report.problems).to.deep.equal([
      { segment: segmentFileName(0), offset: secondAt, reason: 'zeros followed by more records', action: 'skipped' },
    ]);
    expect(repaired.seen).to.deep.equal([1, 4, -1]);
  });
});
