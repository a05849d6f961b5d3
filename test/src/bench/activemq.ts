// Debian's ActiveMQ 5.17 as the comparison broker: installed with apt when missing, run as our own
// instance from a temp folder (STOMP on loopback, KahaDB in the folder), stopped after the run.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir, trackChild } from '../harness/cleanup-registry.js';

export const ACTIVEMQ_HOME = '/usr/share/activemq';
const ACTIVEMQ_JAR = path.join(ACTIVEMQ_HOME, 'bin', 'activemq.jar');

export type SyncMode = 'durability' | 'throughput';

/** Installs the `activemq` package when its jar is missing; returns false (with the reason logged) if it cannot. */
export function ensureActiveMQ(log: (line: string) => void): boolean {
  if (fs.existsSync(ACTIVEMQ_JAR)) return true;
  log('ActiveMQ not found; installing the Debian package: apt-get install -y activemq');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): void => {
    execFileSync('apt-get', ['install', '-y', '-q', 'activemq'], { stdio: 'inherit', env });
  };
  try {
    install();
  } catch {
    try {
      // A fresh machine may have no package lists yet.
      execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
      install();
    } catch (error) {
      log(`could not install activemq (${error instanceof Error ? error.message : String(error)}); comparison skipped`);
      return false;
    }
  }
  return fs.existsSync(ACTIVEMQ_JAR);
}

/** `java -version` prints to stderr. */
export function javaVersion(): string {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const text = `${result.stderr ?? ''}${result.stdout ?? ''}`;
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'java not found';
}

/**
 * KahaDB's default `journalDiskSyncStrategy="always"` (enableJournalDiskSyncs=true) syncs before it
 * answers a persistent send: the counterpart of durability mode. "periodic" syncs on a timer (every
 * 100 ms here, as Tandem's syncIntervalMs default): the counterpart of throughput mode.
 */
function brokerXml(dataDir: string, mode: SyncMode): string {
  const sync = mode === 'durability' ? 'journalDiskSyncStrategy="always"' : 'journalDiskSyncStrategy="periodic" journalDiskSyncInterval="100"';
  return `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
    http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="bench" useJmx="false" dataDirectory="${dataDir}">
    <persistenceAdapter>
      <kahaDB directory="${dataDir}/kahadb" ${sync}/>
    </persistenceAdapter>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage percentOfJvmHeap="70"/></memoryUsage>
        <storeUsage><storeUsage limit="20 gb"/></storeUsage>
        <tempUsage><tempUsage limit="5 gb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
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

export interface RunningActiveMQ {
  port: number;
  stop(): Promise<void>;
  output(): string;
}

export async function startActiveMQ(mode: SyncMode, timeoutMs = 60000): Promise<RunningActiveMQ> {
  const base = makeTempDir('activemq');
  const conf = path.join(base, 'conf');
  const data = path.join(base, 'data');
  fs.mkdirSync(conf);
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(conf, 'activemq.xml'), brokerXml(data, mode));
  fs.writeFileSync(path.join(conf, 'log4j.properties'), LOG4J);
  // Upstream's default heap (bin/env: -Xms64M -Xmx1G), raised at the low end to avoid early resizes.
  const child: ChildProcess = spawn(
    'java',
    [
      '-Xms512M',
      '-Xmx1G',
      `-Dlog4j.configuration=file:${path.join(conf, 'log4j.properties')}`,
      `-Dactivemq.home=${ACTIVEMQ_HOME}`,
      `-Dactivemq.base=${base}`,
      `-Dactivemq.conf=${conf}`,
      `-Dactivemq.data=${data}`,
      `-Djava.io.tmpdir=${base}`,
      '-jar',
      ACTIVEMQ_JAR,
      'start',
      `xbean:file:${path.join(conf, 'activemq.xml')}`,
    ],
    { cwd: base, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  trackChild(child);
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let found: number | undefined;
    const timer = setTimeout(() => reject(new Error(`ActiveMQ did not start within ${timeoutMs} ms\n${lines.join('\n')}`)), timeoutMs);
    const onText = (text: string): void => {
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        const listening = /Listening for connections at: stomp:\/\/[^:]+:(\d+)/.exec(line);
        if (listening) found = Number(listening[1]);
        if (found !== undefined && /Apache ActiveMQ .* started/.test(line)) {
          clearTimeout(timer);
          resolve(found);
        }
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onText);
    child.stderr?.setEncoding('utf8').on('data', onText);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`ActiveMQ exited during start\n${lines.join('\n')}`));
    });
  });
  return {
    port,
    output: () => lines.join('\n'),
    async stop(): Promise<void> {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      await exited;
      clearTimeout(timer);
      removeTempDir(base);
    },
  };
}
