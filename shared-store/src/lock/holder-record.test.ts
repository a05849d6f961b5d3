// The holder record's codec: round trip, every malformed input, and the atomic replace on disk.
import { expect } from 'chai';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeHolderRecord,
  encodeHolderRecord,
  isRecordedLockDir,
  readHolderRecord,
  writeHolderRecord,
  type HolderRecord,
} from './holder-record.js';
import { LockError } from './lock-errors.js';
import { nodeLockFs } from './lock-fs.js';

const RECORD: HolderRecord = {
  epoch: 7,
  host: 'broker-a',
  hostKey: 'broker-a/boot/pid:[1]',
  pid: 4242,
  token: 'f3c1',
  acquiredAt: 1_700_000_000_000,
  lockIno: 123456,
  lockBirthtimeMs: 1_700_000_000_000.25,
};

function corruptCode(json: string): string {
  try {
    decodeHolderRecord(Buffer.from(json), '/data/tandem.lock.json');
  } catch (err) {
    expect(err).to.be.instanceOf(LockError);
    expect((err as Error).message).to.contain('/data/tandem.lock.json');
    return (err as LockError).code;
  }
  throw new Error(`decoded ${json}`);
}

describe('holder record', function () {
  it('round-trips every field, fractional birth times included', function () {
    expect(decodeHolderRecord(encodeHolderRecord(RECORD), 'x')).to.deep.equal(RECORD);
  });

  it('writes one JSON line with a format number first', function () {
    const text = encodeHolderRecord(RECORD).toString('utf8');
    expect(text.endsWith('\n')).to.equal(true);
    expect(text.split('\n')).to.have.length(2);
    expect(Object.keys(JSON.parse(text))[0]).to.equal('format');
  });

  const base = JSON.parse(encodeHolderRecord(RECORD).toString('utf8')) as Record<string, unknown>;
  const bad: Array<[string, string]> = [
    ['a torn write', encodeHolderRecord(RECORD).toString('utf8').slice(0, 40)],
    ['an array', '[]'],
    ['null', 'null'],
    ['an unknown format', JSON.stringify({ ...base, format: 2 })],
    ['epoch 0', JSON.stringify({ ...base, epoch: 0 })],
    ['a fractional epoch', JSON.stringify({ ...base, epoch: 1.5 })],
    ['a string pid', JSON.stringify({ ...base, pid: '4242' })],
    ['an empty host', JSON.stringify({ ...base, host: '' })],
    ['no token', JSON.stringify({ ...base, token: undefined })],
    ['a negative inode', JSON.stringify({ ...base, lockIno: -1 })],
  ];
  for (const [what, json] of bad) {
    it(`rejects ${what} with TANDEM_ERR_LOCK_RECORD_CORRUPT`, function () {
      expect(corruptCode(json)).to.equal('TANDEM_ERR_LOCK_RECORD_CORRUPT');
    });
  }

  it('matches a lock directory only by inode and birth time together', function () {
    expect(isRecordedLockDir(RECORD, { ino: 123456, birthtimeMs: RECORD.lockBirthtimeMs, mtimeMs: 1 })).to.equal(true);
    // ext4 hands a new directory the inode of one just removed: the birth time tells them apart.
    expect(isRecordedLockDir(RECORD, { ino: 123456, birthtimeMs: RECORD.lockBirthtimeMs + 1, mtimeMs: 1 })).to.equal(false);
    expect(isRecordedLockDir(RECORD, { ino: 123457, birthtimeMs: RECORD.lockBirthtimeMs, mtimeMs: 1 })).to.equal(false);
  });

  describe('on disk', function () {
    let dir: string;
    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), 'tandem-holder-'));
    });
    afterEach(async function () {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads undefined when there is no record', async function () {
      expect(await readHolderRecord(nodeLockFs, join(dir, 'tandem.lock.json'))).to.equal(undefined);
    });

    it('replaces the record by rename and leaves no temporary file', async function () {
      const file = join(dir, 'tandem.lock.json');
      await writeHolderRecord(nodeLockFs, file, dir, RECORD);
      await writeHolderRecord(nodeLockFs, file, dir, { ...RECORD, epoch: 8, token: 'a9b2' });
      expect(await readHolderRecord(nodeLockFs, file)).to.deep.equal({ ...RECORD, epoch: 8, token: 'a9b2' });
      expect(await readdir(dir)).to.deep.equal(['tandem.lock.json']);
    });

    it('keeps the old record and removes the temporary file when the rename fails', async function () {
      const file = join(dir, 'tandem.lock.json');
      await writeHolderRecord(nodeLockFs, file, dir, RECORD);
      const failing = { ...nodeLockFs, rename: async () => Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' })) };
      let caught: unknown;
      await writeHolderRecord(failing, file, dir, { ...RECORD, epoch: 8, token: 'a9b2' }).catch((e: unknown) => (caught = e));
      expect(caught).to.have.property('code', 'EIO');
      expect(await readHolderRecord(nodeLockFs, file)).to.deep.equal(RECORD);
      expect(await readdir(dir)).to.deep.equal(['tandem.lock.json']);
    });
  });
});
