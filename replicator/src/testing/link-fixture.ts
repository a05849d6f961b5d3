// Mocha hooks the link tests share: before each test a primary journal open on a temp folder and
// an empty replica folder; after it, the test's cleanups (newest first), the journal, both folders.
import { Journal } from '@tandem-mq/shared-store';
import { tempDir } from './journal-files.js';

export interface LinkFixture {
  /** The primary's data directory. */
  primary: string;
  /** The replica's data directory. */
  replica: string;
  journal: Journal;
  /** Stops senders, receivers and servers a test started. */
  cleanups: Array<() => Promise<void>>;
}

/** Call inside a describe(); the fixture's fields are fresh in every test. */
export function linkFixture(): LinkFixture {
  const fixture = { cleanups: [] } as unknown as LinkFixture;
  const removals: Array<() => void> = [];
  beforeEach(async function () {
    const primary = tempDir('primary');
    const replica = tempDir('replica');
    removals.push(primary.remove, replica.remove);
    fixture.primary = primary.dir;
    fixture.replica = replica.dir;
    fixture.journal = new Journal({ dir: primary.dir, mode: 'durability', segmentSize: 64 * 1024 });
    await fixture.journal.open(() => undefined);
  });
  afterEach(async function () {
    for (const c of fixture.cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await fixture.journal.close().catch(() => undefined);
    for (const remove of removals.splice(0)) remove();
  });
  return fixture;
}
