// What each side of the link tells operators: GET /replication (role, counterpart, state,
// position, lag) and GET /metrics (Prometheus text), served by a small HTTP listener, or rendered
// by these functions for the broker's own admin API once it hosts a replication side.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '@tandem-mq/shared-store';
import type { ReceiverReport } from './receiver.js';
import type { SenderReport } from './sender.js';

export type ReplicationReport = SenderReport | ReceiverReport;

type Sample = [labels: Record<string, string>, value: number];

/** The report in the Prometheus text exposition format (version 0.0.4). */
export function renderReplicationMetrics(report: ReplicationReport): string {
  const out: string[] = [];
  const role = { role: report.role };
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const names = Object.keys(labels);
      const rendered = names.length === 0 ? '' : `{${names.map((n) => `${n}="${labels[n]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
      out.push(`${name}${rendered} ${value}`);
    }
  };
  const up = report.state === 'streaming' ? 1 : 0;
  metric('tandem_replication_lag_records', 'gauge', 'Journal records not yet durable at the replica.', [[role, report.lag.records]]);
  metric('tandem_replication_lag_bytes', 'gauge', 'Journal bytes not yet durable at the replica.', [[role, report.lag.bytes]]);
  metric('tandem_replication_lag_seconds', 'gauge', 'Age of the oldest journal record not yet durable at the replica (ReplicationLag).', [[role, report.lag.seconds]]);
  metric('tandem_replication_link_up', 'gauge', '1 while the link is streaming.', [[role, up]]);
  metric('tandem_replication_position_offset', 'gauge', "Journal offset up to which the replica is durable.", [[role, report.position.journalOffset]]);
  if (report.role === 'primary') {
    const s = report.stats;
    metric('tandem_replication_batches_total', 'counter', 'Batches sent (resends included).', [[role, s.batchesSent]]);
    metric('tandem_replication_records_total', 'counter', 'Records read from the journal and sent.', [[role, s.recordsSent]]);
    metric('tandem_replication_bytes_total', 'counter', 'Journal bytes read and sent.', [[role, s.bytesSent]]);
    metric('tandem_replication_resends_total', 'counter', 'Resends the receiver asked for.', [[role, s.resendsServed]]);
    metric('tandem_replication_links_total', 'counter', 'Links opened to the receiver.', [[role, s.linksOpened]]);
  } else {
    const s = report.stats;
    metric('tandem_replication_batches_total', 'counter', 'Batches applied to the replica.', [[role, s.batchesApplied]]);
    metric('tandem_replication_records_total', 'counter', 'Records applied to the replica.', [[role, s.recordsApplied]]);
    metric('tandem_replication_bytes_total', 'counter', 'Journal bytes applied to the replica.', [[role, s.bytesApplied]]);
    metric('tandem_replication_resends_total', 'counter', 'Resends asked of the sender.', [[role, s.resendsRequested]]);
    metric('tandem_replication_links_total', 'counter', 'Links accepted from a sender.', [[role, s.linksAccepted]]);
    metric('tandem_replication_crc_failures_total', 'counter', 'Batches refused for a CRC mismatch or a cut record.', [[role, s.crcFailures]]);
    metric('tandem_replication_gaps_total', 'counter', 'Messages that skipped ahead of the next expected one.', [[role, s.gapsDetected]]);
    metric('tandem_replication_duplicates_total', 'counter', 'Messages already applied, ignored.', [[role, s.duplicatesIgnored]]);
    metric('tandem_replication_refused_total', 'counter', 'Links refused, by reason.', [
      [{ ...role, reason: 'auth' }, s.refusedAuth],
      [{ ...role, reason: 'busy' }, s.refusedBusy],
    ]);
  }
  return out.join('\n') + '\n';
}

export interface AdminServer {
  address: AddressInfo;
  close(): Promise<void>;
}

/** Serves GET /replication, /metrics and /health on its own port. */
export async function startAdminServer(options: {
  host: string;
  port: number;
  report: () => ReplicationReport;
  logger?: Logger;
}): Promise<AdminServer> {
  const logger = options.logger ?? silentLogger();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const reply = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, value: unknown): void => reply(status, 'application/json; charset=utf-8', JSON.stringify(value));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(405, { error: { code: 'TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${path}` } });
    }
    try {
      if (path === '/replication') return json(200, options.report());
      if (path === '/metrics') return reply(200, 'text/plain; version=0.0.4; charset=utf-8', renderReplicationMetrics(options.report()));
      if (path === '/health') {
        const report = options.report();
        const healthy = report.state !== 'refused' && report.state !== 'failed' && report.state !== 'stopped';
        return json(healthy ? 200 : 503, { status: healthy ? 'ok' : 'down', state: report.state });
      }
      return json(404, { error: { code: 'TANDEM_ERR_ADMIN_NOT_FOUND', message: `no admin endpoint at ${path}` } });
    } catch (err) {
      logger.error({ event: 'replication.admin-failed', err }, 'admin request failed');
      return json(500, { error: { code: 'TANDEM_ERR_INTERNAL', message: 'internal error' } });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
