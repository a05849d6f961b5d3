// The configuration: embedded defaults, each field's validation naming its path, unknown keys,
// YAML and JSON files, path resolution against the file's folder, and flags over the file.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerError } from '../errors.js';
import { loadConfig } from './load.js';
import { defaultConfig, validateConfig } from './schema.js';

function issuesFor(raw: unknown): string[] {
  return validateConfig(raw, '/base').issues.map((i) => `${i.path}: ${i.message}`);
}

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<BrokerError> {
  try {
    await loadConfig(options);
  } catch (error) {
    expect(error).to.be.instanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('loadConfig succeeded');
}

describe('config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('defaults', () => {
    it('match the process contract', async () => {
      const config = await loadConfig({ cwd: dir });
      expect(config.dataDir).to.equal(join(dir, 'data'));
      expect(config.mode).to.equal('durability');
      expect(config.repair).to.equal(false);
      expect(config.journal).to.deep.equal({ segmentSize: 33_554_432, syncIntervalMs: 100, reclaimIntervalMs: 1000 });
      expect(config.stomp).to.deep.equal({ host: '127.0.0.1', port: 61613 });
      expect(config.websocket).to.deep.equal({ enabled: true, host: '127.0.0.1', port: 61614, path: '/' });
      expect(config.admin).to.deep.equal({ host: '127.0.0.1', port: 8161 });
      expect(config).not.to.have.property('tls');
      expect(config.limits).to.deep.equal({ maxFrameSize: 10_485_760, maxHeaders: 1000, maxHeaderLength: 10_240, maxConnections: 1000 });
      expect(config.heartbeat).to.deep.equal({ send: 10_000, receive: 10_000 });
      expect(config.redelivery).to.deep.equal({
        maximumRedeliveries: 6,
        initialRedeliveryDelay: 1000,
        redeliveryDelay: 1000,
        useExponentialBackOff: false,
        backOffMultiplier: 5,
        maximumRedeliveryDelay: -1,
      });
      expect(config.deadLetter).to.deep.equal({ queue: 'ActiveMQ.DLQ', processExpired: true, rules: [] });
      expect(config.ha).to.deep.equal({
        enabled: true,
        leaseMs: 2000,
        renewIntervalMs: 1000,
        retryIntervalMs: 100,
        pidCheck: true,
        safetyMarginMs: 250,
        afterFence: 'standby',
      });
      expect(config.log).to.deep.equal({ level: 'info' });
    });

    it('are filled in around the keys a file does set', () => {
      const { config, issues } = validateConfig({ stomp: { port: 0 }, journal: { syncIntervalMs: 5 } }, '/base');
      expect(issues).to.deep.equal([]);
      expect(config.stomp).to.deep.equal({ host: '127.0.0.1', port: 0 });
      expect(config.journal.syncIntervalMs).to.equal(5);
      expect(config.journal.segmentSize).to.equal(defaultConfig().journal.segmentSize);
    });

    it('treat an empty file or a YAML null section as absent', () => {
      expect(issuesFor(null)).to.deep.equal([]);
      expect(issuesFor({ stomp: null, websocket: null })).to.deep.equal([]);
    });
  });

  describe('validation names the field path', () => {
    const cases: Array<[string, unknown, string]> = [
      ['dataDir', { dataDir: '' }, 'dataDir: must be a non-empty string'],
      ['dataDir type', { dataDir: 5 }, 'dataDir: must be a non-empty string'],
      ['mode', { mode: 'fast' }, 'mode: must be one of durability, throughput'],
      ['journal.segmentSize', { journal: { segmentSize: 100 } }, 'journal.segmentSize: must be an integer from 4096 to 2147483647'],
      ['journal.syncIntervalMs', { journal: { syncIntervalMs: 0 } }, 'journal.syncIntervalMs: must be an integer from 1 to 3600000'],
      ['journal.reclaimIntervalMs', { journal: { reclaimIntervalMs: 1.5 } }, 'journal.reclaimIntervalMs: must be an integer from 1 to 3600000'],
      ['stomp.host', { stomp: { host: 'a b' } }, 'stomp.host: must be a host name or IP address'],
      ['stomp.port', { stomp: { port: 70000 } }, 'stomp.port: must be an integer from 0 to 65535'],
      ['stomp.port type', { stomp: { port: '61613' } }, 'stomp.port: must be an integer from 0 to 65535'],
      ['websocket.enabled', { websocket: { enabled: 'no' } }, 'websocket.enabled: must be true or false'],
      ['websocket.host', { websocket: { host: '' } }, 'websocket.host: must be a host name or IP address'],
      ['websocket.port', { websocket: { port: -1 } }, 'websocket.port: must be an integer from 0 to 65535'],
      ['websocket.path', { websocket: { path: 'stomp' } }, 'websocket.path: must be a path starting with /'],
      ['tls.cert', { tls: { key: 'k.pem' } }, 'tls.cert: is required'],
      ['tls.key', { tls: { cert: 'c.pem' } }, 'tls.key: is required'],
      ['tls.ca', { tls: { cert: 'c.pem', key: 'k.pem', ca: 3 } }, 'tls.ca: must be a non-empty string'],
      ['tls.port', { tls: { cert: 'c.pem', key: 'k.pem', port: 1e6 } }, 'tls.port: must be an integer from 0 to 65535'],
      ['tls.host', { tls: { cert: 'c.pem', key: 'k.pem', host: 7 } }, 'tls.host: must be a host name or IP address'],
      ['admin.host', { admin: { host: false } }, 'admin.host: must be a host name or IP address'],
      ['admin.port', { admin: { port: 8161.5 } }, 'admin.port: must be an integer from 0 to 65535'],
      ['limits.maxFrameSize', { limits: { maxFrameSize: 10 } }, 'limits.maxFrameSize: must be an integer from 1024 to 2147483647'],
      ['limits.maxHeaders', { limits: { maxHeaders: 0 } }, 'limits.maxHeaders: must be an integer from 1 to 1000000'],
      ['limits.maxHeaderLength', { limits: { maxHeaderLength: 8 } }, 'limits.maxHeaderLength: must be an integer from 64 to 16777216'],
      ['limits.maxConnections', { limits: { maxConnections: 0 } }, 'limits.maxConnections: must be an integer from 1 to 1000000'],
      ['heartbeat.send', { heartbeat: { send: -1 } }, 'heartbeat.send: must be an integer from 0 to 2147483647'],
      ['heartbeat.receive', { heartbeat: { receive: 'often' } }, 'heartbeat.receive: must be an integer from 0 to 2147483647'],
      ['redelivery.maximumRedeliveries', { redelivery: { maximumRedeliveries: -2 } }, 'redelivery.maximumRedeliveries: must be an integer of at least -1'],
      ['redelivery.initialRedeliveryDelay', { redelivery: { initialRedeliveryDelay: -1 } }, 'redelivery.initialRedeliveryDelay: must be an integer from 0 to 2147483647'],
      ['redelivery.redeliveryDelay', { redelivery: { redeliveryDelay: 'x' } }, 'redelivery.redeliveryDelay: must be an integer from 0 to 2147483647'],
      ['redelivery.useExponentialBackOff', { redelivery: { useExponentialBackOff: 1 } }, 'redelivery.useExponentialBackOff: must be true or false'],
      ['redelivery.backOffMultiplier', { redelivery: { backOffMultiplier: 0.5 } }, 'redelivery.backOffMultiplier: must be a number of at least 1'],
      ['redelivery.maximumRedeliveryDelay', { redelivery: { maximumRedeliveryDelay: -5 } }, 'redelivery.maximumRedeliveryDelay: must be an integer from -1 to 2147483647'],
      ['deadLetter.queue', { deadLetter: { queue: 'has space' } }, 'deadLetter.queue: must be a queue name such as DLQ.orders'],
      ['deadLetter.processExpired', { deadLetter: { processExpired: 'yes' } }, 'deadLetter.processExpired: must be true or false'],
      ['deadLetter.rules', { deadLetter: { rules: { prefix: 'a' } } }, 'deadLetter.rules: must be a list of { prefix, queue }'],
      ['deadLetter.rules[i].prefix', { deadLetter: { rules: [{ queue: 'DLQ.a' }] } }, 'deadLetter.rules[0].prefix: is required'],
      ['deadLetter.rules[i].queue', { deadLetter: { rules: [{ prefix: '/queue/a.', queue: '' }] } }, 'deadLetter.rules[0].queue: must be a queue name such as DLQ.orders'],
      ['deadLetter.rules[i] type', { deadLetter: { rules: ['x'] } }, 'deadLetter.rules[0]: must be a mapping'],
      ['ha.enabled', { ha: { enabled: 'yes' } }, 'ha.enabled: must be true or false'],
      ['ha.leaseMs below the lock minimum', { ha: { leaseMs: 1000 } }, 'ha.leaseMs: must be an integer from 2000 to 600000'],
      ['ha.renewIntervalMs above half the lease', { ha: { leaseMs: 4000, renewIntervalMs: 2500 } }, 'ha.renewIntervalMs: must be an integer from 1000 to 2000 (at most half of ha.leaseMs)'],
      ['ha.renewIntervalMs below the lock minimum', { ha: { renewIntervalMs: 500 } }, 'ha.renewIntervalMs: must be an integer from 1000 to 1000 (at most half of ha.leaseMs)'],
      ['ha.retryIntervalMs', { ha: { retryIntervalMs: 0 } }, 'ha.retryIntervalMs: must be an integer from 1 to 60000'],
      ['ha.pidCheck', { ha: { pidCheck: 1 } }, 'ha.pidCheck: must be true or false'],
      ['ha.safetyMarginMs past the renewal gap', { ha: { safetyMarginMs: 1000 } }, 'ha.safetyMarginMs: must be an integer from 0 to 999 (below ha.leaseMs - ha.renewIntervalMs)'],
      ['ha.afterFence', { ha: { afterFence: 'restart' } }, 'ha.afterFence: must be one of standby, stop'],
      ['ha unknown key', { ha: { lease: 3000 } }, 'ha.lease: unknown key (expected one of enabled, leaseMs, renewIntervalMs, retryIntervalMs, pidCheck, safetyMarginMs, afterFence)'],
      ['log.level', { log: { level: 'loud' } }, 'log.level: must be one of fatal, error, warn, info, debug, trace, silent'],
      ['a section of the wrong type', { stomp: 61613 }, 'stomp: must be a mapping'],
      ['the top level', ['a'], '(top level): must be a mapping'],
    ];
    for (const [name, raw, expected] of cases) {
      it(name, () => {
        expect(issuesFor(raw)).to.deep.equal([expected]);
      });
    }

    it('accepts the extremes of each range', () => {
      expect(
        issuesFor({
          stomp: { port: 0 },
          websocket: { port: 65535 },
          redelivery: { maximumRedeliveries: -1, maximumRedeliveryDelay: -1, backOffMultiplier: 1 },
          heartbeat: { send: 0, receive: 0 },
        }),
      ).to.deep.equal([]);
    });

    it('lets a longer lease renew at half of it unless renewIntervalMs is given', () => {
      expect(validateConfig({ ha: { leaseMs: 6000 } }, '/').config.ha).to.include({ leaseMs: 6000, renewIntervalMs: 3000, safetyMarginMs: 250 });
      expect(validateConfig({ ha: { leaseMs: 6000, renewIntervalMs: 1500 } }, '/').config.ha.renewIntervalMs).to.equal(1500);
      expect(issuesFor({ ha: { enabled: false, leaseMs: 3000, pidCheck: false, afterFence: 'stop', retryIntervalMs: 250 } })).to.deep.equal([]);
    });

    it('reports every issue, not just the first', () => {
      expect(issuesFor({ mode: 'x', stomp: { port: -1 } })).to.have.length(2);
    });
  });

  describe('unknown keys', () => {
    it('are refused at the top level', () => {
      expect(issuesFor({ stmop: {} })[0]).to.match(/^stmop: unknown key \(expected one of dataDir, mode, journal, /);
    });

    it('are refused inside a section, naming the path', () => {
      expect(issuesFor({ stomp: { prt: 1 } })).to.deep.equal(['stomp.prt: unknown key (expected one of host, port)']);
      expect(issuesFor({ deadLetter: { rules: [{ prefix: 'a.', queue: 'b', extra: 1 }] } })).to.deep.equal([
        'deadLetter.rules[0].extra: unknown key (expected one of prefix, queue)',
      ]);
    });

    it('include repair, which is a flag and not a file key', () => {
      expect(issuesFor({ repair: true })[0]).to.match(/^repair: unknown key/);
    });
  });

  describe('dead-letter names', () => {
    it('take a bare prefix as a queue prefix and a /queue/ name as its bare form', () => {
      const { config } = validateConfig({ deadLetter: { queue: '/queue/DLQ.all', rules: [{ prefix: 'orders.', queue: '/queue/DLQ.orders' }, { prefix: '/topic/t.', queue: 'DLQ.t' }] } }, '/');
      expect(config.deadLetter.queue).to.equal('DLQ.all');
      expect(config.deadLetter.rules).to.deep.equal([
        { prefix: '/queue/orders.', queue: 'DLQ.orders' },
        { prefix: '/topic/t.', queue: 'DLQ.t' },
      ]);
    });
  });

  describe('files', () => {
    it('reads YAML, resolving relative paths against its folder', async () => {
      const file = join(dir, 'broker.yaml');
      writeFileSync(
        file,
        [
          'dataDir: ./journal',
          'mode: throughput',
          'stomp: { host: 0.0.0.0, port: 0 }',
          'websocket: { enabled: false }',
          'tls: { port: 0, cert: ./cert.pem, key: /etc/tandem/key.pem }',
          'deadLetter: { rules: [ { prefix: /queue/orders., queue: DLQ.orders } ] }',
          'log: { level: debug }',
        ].join('\n'),
      );
      const config = await loadConfig({ file, cwd: '/' });
      expect(config.dataDir).to.equal(join(dir, 'journal'));
      expect(config.mode).to.equal('throughput');
      expect(config.stomp).to.deep.equal({ host: '0.0.0.0', port: 0 });
      expect(config.websocket.enabled).to.equal(false);
      expect(config.tls).to.deep.equal({ host: '127.0.0.1', port: 0, cert: join(dir, 'cert.pem'), key: '/etc/tandem/key.pem' });
      expect(config.deadLetter.rules).to.deep.equal([{ prefix: '/queue/orders.', queue: 'DLQ.orders' }]);
      expect(config.log.level).to.equal('debug');
    });

    it('resolves the default dataDir against the file folder too', async () => {
      const file = join(dir, 'broker.yml');
      writeFileSync(file, 'mode: durability\n');
      expect((await loadConfig({ file, cwd: '/' })).dataDir).to.equal(join(dir, 'data'));
    });

    it('reads JSON', async () => {
      const file = join(dir, 'broker.json');
      writeFileSync(file, JSON.stringify({ dataDir: '/var/tandem', admin: { port: 0 } }));
      const config = await loadConfig({ file });
      expect(config.dataDir).to.equal('/var/tandem');
      expect(config.admin.port).to.equal(0);
    });

    it('reads JSON written to a .yaml file, since JSON is YAML', async () => {
      const file = join(dir, 'broker.yaml');
      writeFileSync(file, JSON.stringify({ stomp: { port: 0 } }, null, 2));
      expect((await loadConfig({ file })).stomp.port).to.equal(0);
    });

    it('names the file in a validation error', async () => {
      const file = join(dir, 'broker.yaml');
      writeFileSync(file, 'stomp:\n  port: 70000\n');
      const error = await loadError({ file });
      expect(error.code).to.equal('TANDEM_ERR_CONFIG_INVALID');
      expect(error.message).to.equal(`stomp.port: must be an integer from 0 to 65535 (in ${file})`);
    });

    it('refuses a missing file with TANDEM_ERR_CONFIG_UNREADABLE naming it', async () => {
      const file = join(dir, 'absent.yaml');
      const error = await loadError({ file });
      expect(error.code).to.equal('TANDEM_ERR_CONFIG_UNREADABLE');
      expect(error.message).to.contain(file).and.contain('ENOENT');
    });

    it('refuses unparsable YAML with the file and line', async () => {
      const file = join(dir, 'broker.yaml');
      writeFileSync(file, 'stomp:\n  port: 1\n  port: 2\n');
      const error = await loadError({ file });
      expect(error.code).to.equal('TANDEM_ERR_CONFIG_UNREADABLE');
      expect(error.message).to.contain(file).and.match(/line \d/);
    });

    it('refuses unparsable JSON naming the file', async () => {
      const file = join(dir, 'broker.json');
      writeFileSync(file, '{ "stomp": ');
      const error = await loadError({ file });
      expect(error.code).to.equal('TANDEM_ERR_CONFIG_UNREADABLE');
      expect(error.message).to.contain(file);
    });

    it('refuses an extension it cannot read', async () => {
      const file = join(dir, 'broker.toml');
      writeFileSync(file, '');
      const error = await loadError({ file });
      expect(error.code).to.equal('TANDEM_ERR_CONFIG_UNREADABLE');
      expect(error.message).to.contain('.yaml, .yml or .json');
    });
  });

  describe('flags', () => {
    it('override the file, with --data-dir relative to the working folder', async () => {
      const file = join(dir, 'broker.yaml');
      writeFileSync(file, 'dataDir: ./from-file\nmode: durability\nlog: { level: warn }\n');
      const config = await loadConfig({ file, cwd: '/work', flags: { dataDir: 'here', mode: 'throughput', logLevel: 'error', repair: true } });
      expect(config.dataDir).to.equal('/work/here');
      expect(config.mode).to.equal('throughput');
      expect(config.log.level).to.equal('error');
      expect(config.repair).to.equal(true);
    });

    it('are validated, naming the flag', async () => {
      const error = await loadError({ cwd: dir, flags: { mode: 'fast', logLevel: 'loud' } });
      expect(error.code).to.equal('TANDEM_ERR_CONFIG_INVALID');
      expect(error.message).to.contain('--mode: must be one of durability, throughput').and.contain('--log-level: must be one of');
    });
  });
});
