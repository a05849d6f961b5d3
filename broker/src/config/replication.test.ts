// The replication section: a full section with its defaults, every bad field named, the token given
// or read from a file, and paths resolved against the config file's folder.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerError } from '../errors.js';
import { loadConfig } from './load.js';
import { validateConfig } from './schema.js';

const SECTION = {
  region: 'us-west-2',
  initialRole: 'replica',
  token: 'secret',
  listen: { host: '127.0.0.1', port: 61637 },
  counterpart: {
    region: 'us-east-1',
    links: ['ws://127.0.0.1:61617', 'ws://127.0.0.1:61627'],
    clients: ['stomp://127.0.0.1:61613', 'stomp://127.0.0.1:61623'],
  },
};

function issuesFor(replication: unknown): string[] {
  return validateConfig({ replication }, '/base').issues.map((i) => `${i.path}: ${i.message}`);
}

describe('config: replication', () => {
  it('is absent unless given', () => {
    expect(validateConfig({}, '/base').config.replication).to.equal(undefined);
  });

  it('reads a full section and fills in the defaults', () => {
    const { config, issues } = validateConfig({ replication: { ...SECTION, tls: { cert: 'c.pem', key: 'k.pem' }, ca: '/abs/ca.pem' } }, '/base');
    expect(issues).to.deep.equal([]);
    expect(config.replication).to.deep.equal({
      ...SECTION,
      tls: { cert: '/base/c.pem', key: '/base/k.pem' },
      ca: '/abs/ca.pem',
      lagReportIntervalMs: 250,
    });
    const { config: bare } = validateConfig({ replication: { ...SECTION, listen: undefined } }, '/base');
    expect(bare.replication!.listen).to.deep.equal({ host: '127.0.0.1', port: 61617 });
  });

  it('names each missing required field', () => {
    expect(issuesFor({ counterpart: SECTION.counterpart })).to.have.members([
      'replication.region: is required',
      'replication.initialRole: is required',
      'replication.token: is required (or tokenFile)',
    ]);
    expect(issuesFor({ ...SECTION, counterpart: undefined })).to.deep.equal(['replication.counterpart: is required']);
    expect(issuesFor({ ...SECTION, counterpart: { region: 'us-east-1' } })).to.have.members([
      'replication.counterpart.links: is required',
      'replication.counterpart.clients: is required',
    ]);
  });

  it('names each bad field', () => {
    expect(issuesFor({ ...SECTION, initialRole: 'leader' })).to.deep.equal(['replication.initialRole: must be one of primary, replica']);
    expect(issuesFor({ ...SECTION, tokenFile: 't' })).to.deep.equal(['replication.token: give token or tokenFile, not both']);
    expect(issuesFor({ ...SECTION, region: 'us east' })).to.deep.equal(['replication.region: must be a region name of letters, digits, ".", "_" and "-"']);
    expect(issuesFor({ ...SECTION, listen: { port: 70000 } })).to.deep.equal(['replication.listen.port: must be an integer from 0 to 65535']);
    expect(issuesFor({ ...SECTION, lagReportIntervalMs: 1 })).to.deep.equal(['replication.lagReportIntervalMs: must be an integer from 10 to 60000']);
    expect(issuesFor({ ...SECTION, extra: 1 })[0]).to.match(/^replication\.extra: unknown key/);
    expect(issuesFor({ ...SECTION, tls: { cert: 'c.pem' } })).to.deep.equal(['replication.tls.key: is required']);
    expect(issuesFor({ ...SECTION, counterpart: { ...SECTION.counterpart, region: 'us-west-2' } })).to.deep.equal([
      'replication.counterpart.region: must differ from replication.region (us-west-2)',
    ]);
    expect(issuesFor({ ...SECTION, counterpart: { ...SECTION.counterpart, links: ['http://x:1', 'ws://ok:2'] } })).to.deep.equal([
      'replication.counterpart.links[0]: must be a ws:// or wss:// URL',
    ]);
    expect(issuesFor({ ...SECTION, counterpart: { ...SECTION.counterpart, clients: [] } })).to.deep.equal([
      'replication.counterpart.clients: must be a non-empty list of a stomp://, stomp+ssl://, ws:// or wss:// URL',
    ]);
  });

  describe('tokenFile', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'tandem-replication-config-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function write(tokenFile: string): string {
      const file = join(dir, 'broker.json');
      const { token: _none, ...rest } = SECTION;
      writeFileSync(file, JSON.stringify({ replication: { ...rest, tokenFile } }));
      return file;
    }

    it('reads the token from the file, relative to the config file, trimmed', async () => {
      writeFileSync(join(dir, 'token'), '  from-a-file\n');
      const config = await loadConfig({ file: write('token') });
      expect(config.replication!.token).to.equal('from-a-file');
      expect(config.replication!.tokenFile).to.equal(join(dir, 'token'));
    });

    it('names a token file that is missing or empty', async () => {
      for (const [setup, fragment] of [
        [() => undefined, 'replication.tokenFile: cannot read'],
        [() => writeFileSync(join(dir, 'token'), '\n'), 'is empty'],
      ] as const) {
        setup();
        const error = await loadConfig({ file: write('token') }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(BrokerError);
        expect((error as BrokerError).code).to.equal('TANDEM_ERR_CONFIG_INVALID');
        expect((error as BrokerError).message).to.contain(fragment);
      }
    });
  });
});
