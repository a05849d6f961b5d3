// ActiveMQ's own shared-file master/slave as the comparison for the pair: two Debian activemq
// instances on one KahaDB directory on loopback, each with its own conf and data folders. The one
// holding KahaDB's file lock is master and opens its STOMP connector; the other waits in slave mode,
// polling the lock every `lockAcquireSleepInterval` (ActiveMQ's default 10 s unless told otherwise).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, trackChild } from '../harness/cleanup-registry.js';
import type { ChaosMember } from '../harness/chaos.js';
import { freePort } from '../harness/pair.js';
import { ACTIVEMQ_HOME, type SyncMode } from './activemq.js';

const ACTIVEMQ_JAR = path.join(ACTIVEMQ_HOME, 'bin', 'activemq.jar');
/** ActiveMQ's default for the shared file locker. */
export const ACTIVEMQ_LOCK_INTERVAL_DEFAULT_MS = 10000;

function brokerXml(kahadb: string, data: string, port: number, mode: SyncMode, lockIntervalMs: number): string {
  const sync = mode === 'durability' ? 'journalDiskSyncStrategy="always"' : 'journalDiskSyncStrategy="periodic" journalDiskSyncInterval="100"';
  return `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
    http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="pair" useJmx="false" dataDirectory="${data}">
    <persistenceAdapter>
      <kahaDB directory="${kahadb}" ${sync}>
        <locker><shared-file-locker lockAcquireSleepInterval="${lockIntervalMs}"/></locker>
      </kahaDB>
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${port}"/>
    </transportConnectors>
  </broker>
</beans>
`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%5p | %m%n
`;

/** One ActiveMQ instance of the pair; `started` lines are its master moments. */
export class ActiveMQMember implements ChaosMember {
  readonly endpoint: string;
  private child?: ChildProcess;
  private readonly lines: Array<{ at: number; text: string }> = [];
  private readonly waiters: Array<() => void> = [];
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly base: string,
    readonly port: number,
  ) {
    this.endpoint = `stomp://127.0.0.1:${port}`;
  }

  static prepare(name: string, shared: string, port: number, mode: SyncMode, lockIntervalMs: number): ActiveMQMember {
    const base = path.join(shared, name);
    const conf = path.join(base, 'conf');
    fs.mkdirSync(conf, { recursive: true });
    fs.mkdirSync(path.join(base, 'data'), { recursive: true });
    fs.writeFileSync(path.join(conf, 'activemq.xml'), brokerXml(path.join(shared, 'kahadb'), path.join(base, 'data'), port, mode, lockIntervalMs));
    fs.writeFileSync(path.join(conf, 'log4j.properties'), LOG4J);
    return new ActiveMQMember(name, base, port);
  }

  start(): void {
    const conf = path.join(this.base, 'conf');
    const child = spawn(
      'java',
      [
        '-Xms512M',
        '-Xmx1G',
        `-Dlog4j.configuration=file:${path.join(conf, 'log4j.properties')}`,
        `-Dactivemq.home=${ACTIVEMQ_HOME}`,
        `-Dactivemq.base=${this.base}`,
        `-Dactivemq.conf=${conf}`,
        `-Dactivemq.data=${path.join(this.base, 'data')}`,
        `-Djava.io.tmpdir=${this.base}`,
        '-jar',
        ACTIVEMQ_JAR,
        'start',
        `xbean:file:${path.join(conf, 'activemq.xml')}`,
      ],
      { cwd: this.base, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    trackChild(child);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const onText = (text: string): void => {
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        this.lines.push({ at: Date.now(), text: line });
        for (const wake of this.waiters.splice(0)) wake();
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onText);
    child.stderr?.setEncoding('utf8').on('data', onText);
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** The time its "Apache ActiveMQ ... started" line arrived at or after `since`: it is master then. */
  servingSince(since: number, timeoutMs: number): Promise<number> {
    return this.waitForLine(/Apache ActiveMQ .* started/, since, timeoutMs);
  }

  /** Resolves once the instance reports waiting for KahaDB's lock (slave mode). */
  waitingAsSlave(since: number, timeoutMs: number): Promise<number> {
    return this.waitForLine(/slave mode|is locked by another/i, since, timeoutMs);
  }

  output(): string {
    return this.lines.map((l) => l.text).join('\n');
  }

  async stop(): Promise<void> {
    if (this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }

  private waitForLine(pattern: RegExp, since: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`${this.name}: no line matching ${String(pattern)} within ${timeoutMs} ms\n${this.output().slice(-3000)}`)), timeoutMs);
      const check = (): void => {
        const found = this.lines.find((l) => l.at >= since && pattern.test(l.text));
        if (found !== undefined) {
          clearTimeout(deadline);
          resolve(found.at);
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }
}

export interface ActiveMQPair {
  dir: string;
  members: [ActiveMQMember, ActiveMQMember];
  uri(options: string): string;
  stop(): Promise<void>;
}

/** Starts the first instance and waits until it is master, then the second until it waits as slave. */
export async function startActiveMQPair(mode: SyncMode, lockIntervalMs: number, timeoutMs = 90000): Promise<ActiveMQPair> {
  const dir = makeTempDir('activemq-pair');
  fs.mkdirSync(path.join(dir, 'kahadb'));
  const members: [ActiveMQMember, ActiveMQMember] = [
    ActiveMQMember.prepare('amq-1', dir, await freePort(), mode, lockIntervalMs),
    ActiveMQMember.prepare('amq-2', dir, await freePort(), mode, lockIntervalMs),
  ];
  const pair: ActiveMQPair = {
    dir,
    members,
    uri: (options) => `failover:(${members.map((m) => m.endpoint).join(',')})?randomize=false&${options}`,
    stop: async () => void (await Promise.all(members.map((m) => m.stop()))),
  };
  try {
    const since = Date.now();
    members[0].start();
    await members[0].servingSince(since, timeoutMs);
    members[1].start();
    await members[1].waitingAsSlave(since, timeoutMs);
  } catch (error) {
    await pair.stop();
    throw error;
  }
  return pair;
}
