// The config file and flags as the process contract gives them: a bad file names the field (or the
// file) on stderr and exits 2 with nothing started; YAML and JSON both load; flags override the file.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { BrokerProcess, runCli } from './harness/broker-process.js';
import { makeTempDir } from './harness/cleanup-registry.js';
import { useBrokerCleanup } from './harness/suite.js';
import { adminRequest } from './harness/admin-client.js';

interface BadConfig {
  name: string;
  file: string;
  text: string;
  /** What stderr must name. */
  names: string[];
}

const BAD_CONFIGS: BadConfig[] = [
  { name: 'a port out of range', file: 'broker.yaml', text: 'stomp:\n  port: 70000\n', names: ['stomp.port'] },
  { name: 'an unknown key', file: 'broker.yaml', text: 'stomp:\n  port: 0\nbogusKey: 1\n', names: ['bogusKey'] },
  { name: 'an unknown nested key', file: 'broker.yaml', text: 'limits:\n  maxFrameSize: 1024\n  maxFrames: 3\n', names: ['limits.maxFrames'] },
  { name: 'a wrong type', file: 'broker.yaml', text: 'heartbeat:\n  send: "often"\n', names: ['heartbeat.send'] },
  { name: 'an unknown mode', file: 'broker.yaml', text: 'mode: fast\n', names: ['mode'] },
  { name: 'a negative limit', file: 'broker.yaml', text: 'limits:\n  maxConnections: -1\n', names: ['limits.maxConnections'] },
  { name: 'a bad field in a JSON file', file: 'broker.json', text: '{ "admin": { "port": "eighty" } }', names: ['admin.port'] },
  { name: 'YAML that does not parse', file: 'broker.yaml', text: 'stomp: [unclosed\n  port: 1\n', names: [] },
  { name: 'JSON that does not parse', file: 'broker.json', text: '{ "stomp": ', names: [] },
];

describe('config: a bad file stops the broker before anything starts', function () {
  for (const bad of BAD_CONFIGS) {
    it(`exits 2 on ${bad.name}, naming ${bad.names.length ? bad.names.join(', ') : 'the file'}`, async function () {
      const dir = makeTempDir('config');
      const file = path.join(dir, bad.file);
      fs.writeFileSync(file, bad.text);
      const result = await runCli(['broker', '--config', file], { cwd: dir });
      expect(result.code, result.stderr).to.equal(2);
      for (const name of bad.names) expect(result.stderr).to.include(name);
      expect(result.stderr).to.include(file);
      expect(fs.existsSync(path.join(dir, 'data')), 'no data dir is created').to.equal(false);
      expect(result.stdout).to.not.include('broker.listening');
    });
  }

  it('exits 2 naming a config file that does not exist', async function () {
    const dir = makeTempDir('config');
    const file = path.join(dir, 'missing.yaml');
    const result = await runCli(['broker', '--config', file], { cwd: dir });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include(file);
  });

  it('exits 2 on a bad --mode flag', async function () {
    const dir = makeTempDir('config');
    const file = path.join(dir, 'broker.yaml');
    fs.writeFileSync(file, 'stomp: { port: 0 }\nwebsocket: { port: 0 }\nadmin: { port: 0 }\ndataDir: ./data\n');
    const result = await runCli(['broker', '--config', file, '--mode', 'reckless'], { cwd: dir });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('mode');
  });
});

describe('config: loading and overrides', function () {
  const started = useBrokerCleanup();

  it('loads a .json config file', async function () {
    const broker = await BrokerProcess.start({
      configFile: {
        name: 'broker.json',
        text: JSON.stringify({ dataDir: './data', stomp: { port: 0 }, websocket: { enabled: false }, admin: { port: 0 } }),
      },
    });
    started.add(broker);
    expect(broker.ports.stomp).to.be.greaterThan(0);
    expect(broker.ports.websocket, 'websocket.enabled:false turns the listener off').to.equal(undefined);
    expect((await adminRequest(broker.ports.admin, '/health')).status).to.equal(200);
  });

  it('resolves a relative dataDir against the config file\'s folder, not the working directory', async function () {
    const elsewhere = makeTempDir('cwd');
    const broker = await BrokerProcess.start({ cwd: elsewhere, config: { dataDir: './relative-data' } });
    started.add(broker);
    expect(fs.existsSync(path.join(broker.dir, 'relative-data'))).to.equal(true);
    expect(fs.existsSync(path.join(elsewhere, 'relative-data'))).to.equal(false);
  });

  it('lets --data-dir override the file', async function () {
    const broker = await BrokerProcess.start({ config: { dataDir: './from-file' }, args: ['--data-dir', 'from-flag'] });
    started.add(broker);
    expect(fs.existsSync(path.join(broker.dir, 'from-flag'))).to.equal(true);
    expect(fs.existsSync(path.join(broker.dir, 'from-file'))).to.equal(false);
  });
});
