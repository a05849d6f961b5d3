// The journal's file I/O behind the lock: while the lock holds everything passes; once it does not,
// every change to the data directory is refused with TANDEM_ERR_FENCED and reads still work.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileIO, StoreError } from '@tandem-mq/shared-store';
import { guardedFileIO, lockWriteGuard } from './guarded-file-io.js';

describe('guarded file I/O', function () {
  let dir: string;
  let held: boolean;
  const io = () => guardedFileIO(nodeFileIO, lockWriteGuard({ isHeld: () => held }));

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'tandem-guarded-'));
    held = true;
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  async function refusal(run: () => Promise<unknown> | unknown): Promise<unknown> {
    try {
      await run();
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it('writes while the lock holds', async function () {
    const file = await io().open(join(dir, 'a'), 'create');
    await file.write(Buffer.from('abc'), 0, 3, 0);
    file.writeSync(Buffer.from('d'), 0, 1, 3);
    await file.datasync();
    await file.close();
    expect(readFileSync(join(dir, 'a'), 'utf8')).to.equal('abcd');
  });

  it('refuses every change once the lock is gone, with TANDEM_ERR_FENCED, and nothing reaches the disk', async function () {
    const guarded = io();
    const file = await guarded.open(join(dir, 'a'), 'create');
    await file.write(Buffer.from('kept'), 0, 4, 0);
    held = false;
    const refused = [
      await refusal(() => file.write(Buffer.from('late'), 0, 4, 4)),
      await refusal(() => file.writeSync(Buffer.from('late'), 0, 4, 4)),
      await refusal(() => file.datasync()),
      await refusal(() => file.truncate(0)),
      await refusal(() => guarded.open(join(dir, 'b'), 'create')),
      await refusal(() => guarded.open(join(dir, 'a'), 'append')),
      await refusal(() => guarded.unlink(join(dir, 'a'))),
      await refusal(() => guarded.rename(join(dir, 'a'), join(dir, 'c'))),
      await refusal(() => guarded.mkdir(join(dir, 'sub'))),
      await refusal(() => guarded.fsyncDir(dir)),
    ];
    for (const error of refused) {
      expect(error).to.be.instanceOf(StoreError);
      expect(error).to.have.property('code', 'TANDEM_ERR_FENCED');
    }
    await file.close();
    expect(readFileSync(join(dir, 'a'), 'utf8')).to.equal('kept');
    expect(await guarded.readdir(dir)).to.deep.equal(['a']);
  });

  it('still reads once the lock is gone', async function () {
    const guarded = io();
    const file = await guarded.open(join(dir, 'a'), 'create');
    await file.write(Buffer.from('kept'), 0, 4, 0);
    await file.close();
    held = false;
    const reader = await guarded.open(join(dir, 'a'), 'read');
    const buffer = Buffer.alloc(4);
    expect(await reader.read(buffer, 0, 4, 0)).to.equal(4);
    expect(await reader.size()).to.equal(4);
    await reader.close();
    expect(buffer.toString()).to.equal('kept');
    expect(await guarded.stat(join(dir, 'a'))).to.deep.equal({ size: 4 });
  });
});
