// compose.yaml as Docker users get it, checked without a Docker engine: `docker-compose config`
// (Debian's docker-compose package, installed here when missing) resolves the file, and the result
// must name four brokers on two volumes, files that exist in the repository, configs the broker
// loads, and ports that agree with those configs.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '@tandem-mq/broker';

const REPO = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const BROKERS = ['broker-1', 'broker-2', 'broker-3', 'broker-4'] as const;
const VOLUMES: Record<string, readonly string[]> = { 'primary-data': ['broker-1', 'broker-2'], 'replica-data': ['broker-3', 'broker-4'] };
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

type Json = Record<string, unknown>;

interface Mount {
  source: string;
  target: string;
  type: 'bind' | 'volume';
}

interface Published {
  hostIp: string;
  host: number;
  container: number;
}

/** A broker's config file as YAML data, with the fields these checks read. */
interface RawConfig {
  dataDir: string;
  stomp: { port: number };
  websocket: { port: number };
  admin: { port: number };
  replication: {
    region: string;
    initialRole: string;
    tokenFile?: string;
    listen: { port: number };
    counterpart: { region: string; links: string[]; clients: string[] };
  };
}

function hasDockerCompose(): boolean {
  return spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Installs Debian's docker-compose with apt-get, as root or through sudo; throws saying why it cannot. */
function installDockerCompose(): void {
  const asRoot = process.getuid?.() === 0;
  const sudo = !asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!asRoot && !sudo) {
    throw new Error('docker-compose is missing and cannot be installed: apt-get needs root (or sudo without a password). Install it with `apt-get install docker-compose` and run the test again.');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): void => {
    const [command, rest] = sudo ? ['sudo', ['-n', 'apt-get', ...args]] : ['apt-get', args];
    execFileSync(command, rest, { stdio: 'inherit', env, timeout: INSTALL_TIMEOUT_MS });
  };
  try {
    apt(['install', '-y', '-q', 'docker-compose']);
  } catch {
    // A fresh machine may have no package lists yet.
    apt(['update', '-q']);
    apt(['install', '-y', '-q', 'docker-compose']);
  }
  if (!hasDockerCompose()) throw new Error('apt-get installed docker-compose, but `docker-compose version` still fails');
}

/** The resolved file, with the environment's own token file left out so the repository's default is checked. */
function composeConfig(): Json {
  const env = { ...process.env };
  delete env['TANDEM_REPLICATION_TOKEN_FILE'];
  const run = spawnSync('docker-compose', ['--project-directory', REPO, '-f', path.join(REPO, 'compose.yaml'), 'config'], { cwd: REPO, env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`docker-compose config failed (status ${run.status}):\n${run.stderr}`);
  return parse(run.stdout) as Json;
}

/** docker-compose 1.x prints short forms ("src:dst:ro"); Compose v2 prints long ones. Both are read. */
function mounts(service: Json): Mount[] {
  return ((service['volumes'] as unknown[] | undefined) ?? []).map((entry) => {
    if (typeof entry === 'string') {
      const [source = '', target = ''] = entry.split(':');
      return { source, target, type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume' };
    }
    const long = entry as Json;
    return { source: String(long['source']), target: String(long['target']), type: long['type'] === 'bind' ? 'bind' : 'volume' };
  });
}

function published(service: Json): Published[] {
  return ((service['ports'] as unknown[] | undefined) ?? []).map((entry) => {
    if (typeof entry === 'string') {
      const parts = entry.replace(/\/(tcp|udp)$/, '').split(':');
      const container = Number(parts.pop());
      const host = Number(parts.pop() ?? container);
      return { hostIp: parts.pop() ?? '0.0.0.0', host, container };
    }
    const long = entry as Json;
    return { hostIp: String(long['host_ip'] ?? '0.0.0.0'), host: Number(long['published']), container: Number(long['target']) };
  });
}

/** A path inside the container, mapped back through the service's bind mounts, or undefined. */
function hostPath(service: Json, containerPath: string): string | undefined {
  const bind = mounts(service)
    .filter((m) => m.type === 'bind' && (containerPath === m.target || containerPath.startsWith(`${m.target}/`)))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return bind === undefined ? undefined : path.join(bind.source, containerPath.slice(bind.target.length));
}

function commandOf(service: Json): string[] {
  const command = service['command'];
  return Array.isArray(command) ? command.map(String) : String(command ?? '').split(/\s+/);
}

function healthText(service: Json): string {
  const test = (service['healthcheck'] as Json | undefined)?.['test'];
  return Array.isArray(test) ? test.join(' ') : String(test ?? '');
}

function portOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

describe('compose.yaml (docker-compose config, no Docker engine)', function () {
  let compose: Json;
  let services: Record<string, Json>;
  const configFiles = new Map<string, string>();
  const configs = new Map<string, RawConfig>();

  before(function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60000);
    if (!hasDockerCompose()) installDockerCompose();
    compose = composeConfig();
    services = compose['services'] as Record<string, Json>;
    for (const name of BROKERS) {
      const service = services[name];
      if (service === undefined) continue;
      const command = commandOf(service);
      const file = command[command.indexOf('--config') + 1];
      const local = file === undefined ? undefined : hostPath(service, file);
      if (local === undefined || !fs.existsSync(local)) continue;
      configFiles.set(name, local);
      configs.set(name, parse(fs.readFileSync(local, 'utf8')) as RawConfig);
    }
  });

  it('runs the four brokers, and a one-shot build they wait for', function () {
    expect(Object.keys(services).filter((name) => name.startsWith('broker-')).sort()).to.deep.equal([...BROKERS]);
    const installers = Object.entries(services).filter(([, s]) => commandOf(s).join(' ').includes('npm ci'));
    expect(installers.map(([name]) => name), 'services that run npm ci').to.have.length(1);
    const [builder] = installers[0]!;
    for (const name of BROKERS) {
      const dependsOn = services[name]!['depends_on'] as Record<string, { condition?: string }> | undefined;
      expect(dependsOn?.[builder]?.condition, `${name} depends_on ${builder}`).to.equal('service_completed_successfully');
      expect(commandOf(services[name]!).slice(0, 3), `${name} command`).to.deep.equal(['node', 'broker/dist/cli/main.js', 'broker']);
    }
  });

  it('puts the primary pair on primary-data and the replica pair on replica-data, at each config dataDir', function () {
    expect(Object.keys((compose['volumes'] as Json | undefined) ?? {}).sort()).to.deep.equal(Object.keys(VOLUMES).sort());
    for (const [volume, members] of Object.entries(VOLUMES)) {
      const users = BROKERS.filter((name) => mounts(services[name]!).some((m) => m.type === 'volume' && m.source === volume));
      expect(users, `services on ${volume}`).to.deep.equal([...members]);
      for (const name of members) {
        const mount = mounts(services[name]!).find((m) => m.source === volume)!;
        expect(configs.get(name)?.dataDir, `${name} dataDir`).to.equal(mount.target);
      }
    }
  });

  it('names config files and a token file that exist in the repository', function () {
    for (const name of BROKERS) {
      const service = services[name]!;
      expect(hostPath(service, '/app'), `${name} mounts the repository at /app`).to.equal(REPO);
      expect(configFiles.get(name), `${name}'s --config file in the repository`).to.be.a('string');
      expect(configFiles.get(name)!.startsWith(`${REPO}/broker/config/compose/`), configFiles.get(name)).to.equal(true);
    }
    const secrets = compose['secrets'] as Record<string, { file?: string }>;
    for (const [secret, { file }] of Object.entries(secrets)) {
      expect(file, `secret ${secret}`).to.be.a('string');
      expect(file!.startsWith(`${REPO}/`), `secret ${secret} is in the repository`).to.equal(true);
      expect(fs.readFileSync(file!, 'utf8').trim(), `secret ${secret} holds a token`).to.have.length.greaterThan(15);
    }
    for (const name of BROKERS) {
      const tokenFile = configs.get(name)!.replication.tokenFile;
      const secret = /^\/run\/secrets\/([^/]+)$/.exec(tokenFile ?? '')?.[1];
      expect(secret, `${name} reads its token from a compose secret, not ${tokenFile}`).to.be.a('string');
      expect(secrets[secret!], `secret ${secret}`).to.not.equal(undefined);
      const granted = ((services[name]!['secrets'] as unknown[] | undefined) ?? []).map((s) => (typeof s === 'string' ? s : String((s as Json)['source'])));
      expect(granted, `${name}'s secrets`).to.include(secret);
    }
  });

  it('gives every config file to the broker config loader without an issue, token file included', async function () {
    const secrets = compose['secrets'] as Record<string, { file?: string }>;
    for (const name of BROKERS) {
      const service = services[name]!;
      // The loader reads the token file too; it sees the container's paths, mapped back to the host's.
      const readText = (file: string): Promise<string> => {
        const secret = /^\/run\/secrets\/([^/]+)$/.exec(file)?.[1];
        const local = secret === undefined ? (hostPath(service, file) ?? file) : secrets[secret]?.file;
        return fs.promises.readFile(local ?? file, 'utf8');
      };
      const config = await loadConfig({ file: configFiles.get(name)!, readText });
      expect(config.dataDir, name).to.equal(configs.get(name)!.dataDir);
      expect(config.replication?.region, name).to.equal(configs.get(name)!.replication.region);
      expect(config.replication?.token, `${name} token`).to.equal(fs.readFileSync(secrets['replication-token']!.file!, 'utf8').trim());
    }
  });

  it('checks health through GET /role on each broker own admin port, so a standby counts as healthy', function () {
    for (const name of BROKERS) {
      const service = services[name]!;
      expect(service['healthcheck'], `${name} healthcheck`).to.be.an('object');
      const url = /https?:\/\/[^\s'"]+/.exec(healthText(service))?.[0];
      expect(url, `${name} healthcheck URL`).to.be.a('string');
      const { host, port } = portOf(url!);
      expect(host, `${name} healthcheck host`).to.be.oneOf(['127.0.0.1', 'localhost']);
      expect(port, `${name} healthcheck port`).to.equal(configs.get(name)!.admin.port);
      expect(new URL(url!).pathname, `${name} healthcheck path`).to.equal('/role');
      expect(healthText(service), `${name} healthcheck accepts a standby`).to.include('standby');
    }
  });

  it('publishes only ports the configs listen on, each host port once', function () {
    const seen = new Map<number, string>();
    for (const name of BROKERS) {
      const config = configs.get(name)!;
      const listening = [config.stomp.port, config.websocket.port, config.admin.port];
      const ports = published(services[name]!);
      expect(ports.map((p) => p.container).sort(), `${name} publishes STOMP, WebSocket and admin`).to.deep.equal([...listening].sort());
      for (const p of ports) {
        expect(p.host, `${name} publishes ${p.container} as the same port`).to.equal(p.container);
        expect(seen.get(p.host), `host port ${p.host} published by ${seen.get(p.host)} and ${name}`).to.equal(undefined);
        seen.set(p.host, name);
      }
    }
    for (const [name, service] of Object.entries(services)) {
      if (!BROKERS.includes(name as (typeof BROKERS)[number])) expect(published(service), `${name} publishes nothing`).to.deep.equal([]);
    }
  });

  it('links each region to the other pair by service name and replication port, with the same settings in a pair', function () {
    const region = (name: string): string => configs.get(name)!.replication.region;
    for (const [volume, members] of Object.entries(VOLUMES)) {
      const [a, b] = members.map((name) => configs.get(name)!.replication);
      expect(b!.region, `${volume}: one region`).to.equal(a!.region);
      expect(b!.initialRole, `${volume}: one initial role`).to.equal(a!.initialRole);
      expect(b!.counterpart, `${volume}: one counterpart`).to.deep.equal(a!.counterpart);
    }
    expect(BROKERS.map((name) => configs.get(name)!.replication.initialRole)).to.deep.equal(['primary', 'primary', 'replica', 'replica']);
    for (const name of BROKERS) {
      const { counterpart } = configs.get(name)!.replication;
      const others = BROKERS.filter((other) => region(other) !== region(name));
      expect(counterpart.region, `${name} counterpart region`).to.equal(region(others[0]!));
      const linked = counterpart.links.map((link) => {
        const { host, port } = portOf(link);
        expect(others, `${name} links to ${link}: a broker of the other region`).to.include(host);
        expect(port, `${name} links to ${link}: ${host}'s replication port`).to.equal(configs.get(host)!.replication.listen.port);
        return host;
      });
      expect(linked.sort(), `${name} links to both brokers of the other region`).to.deep.equal(others);
      const clientPorts = counterpart.clients.map((client) => portOf(client).port).sort();
      const expected = others.map((other) => configs.get(other)!.stomp.port).sort();
      expect(clientPorts, `${name} names the other region's published STOMP ports`).to.deep.equal(expected);
      for (const other of others) {
        expect(published(services[other]!).map((p) => p.host), `${other} publishes its STOMP port`).to.include(configs.get(other)!.stomp.port);
      }
    }
    const replicationPorts = BROKERS.map((name) => configs.get(name)!.replication.listen.port);
    expect(new Set(replicationPorts).size, 'replication ports distinct').to.equal(BROKERS.length);
  });
});
