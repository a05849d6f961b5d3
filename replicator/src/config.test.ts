// The two config files: defaults, relative paths, tokens from files, and errors that name the field.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReceiverConfig, loadReplicatorConfig } from './config.js';
import { tempDir } from './testing/journal-files.js';

async function refusal(load: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await load;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected the config to be refused');
}

describe('replication config', function () {
  let dir: string;
  let remove: () => void;
  beforeEach(function () {
    ({ dir, remove } = tempDir('config'));
  });
  afterEach(function () {
    remove();
  });

  it('reads a replicator config, resolving paths against its folder and the token from a file', async function () {
    writeFileSync(join(dir, 'token'), 's3cret\n');
    writeFileSync(join(dir, 'r.yaml'), 'dataDir: ./data\nlink:\n  url: ws://10.0.0.1:61620/replication\n  tokenFile: ./token\n  windowBytes: 65536\nadmin:\n  port: 0\n');
    const config = await loadReplicatorConfig(join(dir, 'r.yaml'));
    expect(config).to.include({ dataDir: join(dir, 'data'), url: 'ws://10.0.0.1:61620/replication', token: 's3cret', windowBytes: 65536, logLevel: 'info' });
    expect(config.admin).to.deep.equal({ host: '127.0.0.1', port: 0 });
  });

  it('reads a receiver config with its defaults', async function () {
    writeFileSync(join(dir, 'r.json'), JSON.stringify({ dataDir: '/var/lib/replica', link: { token: 't', port: 61620 }, primaryEndpoints: ['stomp+ssl://primary-1:61614'] }));
    const config = await loadReceiverConfig(join(dir, 'r.json'));
    expect(config).to.include({ dataDir: '/var/lib/replica', host: '127.0.0.1', port: 61620, path: '/replication', token: 't', lock: true });
    expect(config.primaryEndpoints).to.deep.equal(['stomp+ssl://primary-1:61614']);
  });

  it('names every bad field, and the file', async function () {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'link:\n  url: http://x\n  windowBytes: 12\n  colour: blue\nlog:\n  level: loud\n');
    const error = await refusal(loadReplicatorConfig(file));
    expect(error.code).to.equal('TANDEM_ERR_REPLICATION_CONFIG');
    for (const part of [file, 'dataDir is required', 'link.url must be a ws:// or wss:// URL', 'link.windowBytes must be an integer', 'link.colour is not a known field', 'log.level must be one of', 'link.token (or link.tokenFile) is required']) {
      expect(error.message).to.contain(part);
    }
  });

  it('refuses TLS settings on a ws:// URL, and a receiver TLS block without its key', async function () {
    writeFileSync(join(dir, 'ca.pem'), 'not really a pem');
    writeFileSync(join(dir, 'a.yaml'), 'dataDir: d\nlink:\n  url: ws://x:1\n  token: t\n  tls:\n    ca: ./ca.pem\n');
    expect((await refusal(loadReplicatorConfig(join(dir, 'a.yaml')))).message).to.contain('use wss://');
    writeFileSync(join(dir, 'b.yaml'), 'dataDir: d\nlink:\n  token: t\n  tls:\n    cert: ./ca.pem\n');
    expect((await refusal(loadReceiverConfig(join(dir, 'b.yaml')))).message).to.contain('link.tls.key is required');
  });

  it('refuses a file that is not YAML or JSON by its name, or cannot be read', async function () {
    expect((await refusal(loadReceiverConfig(join(dir, 'x.toml')))).message).to.contain('must end in .yaml, .yml or .json');
    expect((await refusal(loadReceiverConfig(join(dir, 'missing.yaml')))).message).to.contain('ENOENT');
  });
});
