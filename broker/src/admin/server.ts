// The admin HTTP API (node:http): GET /health, /role, /destinations and /metrics, answering in every
// HA role. Errors are JSON `{"error":{"code","message"}}` with the registry's codes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { StoreStats } from '@tandem-mq/shared-store';
import type { CoreCounters } from '../core/index.js';
import type { DestinationStats } from '../core/types.js';
import { BrokerError } from '../errors.js';
import type { ListenerConfig } from '../config/schema.js';
import type { HaStatus } from '../ha/controller.js';
import type { HaLockHolder } from '../ha/ha-lock.js';
import { healthReport, roleReport } from '../ha/report.js';
import { closeServer, listen } from '../transport/listen.js';
import type { Listener } from '../transport/types.js';
import { renderMetrics, type MetricsSnapshot } from './metrics.js';

/** What the admin API reads; the broker supplies it. */
export interface AdminSource {
  /** The HA role, since when and why. */
  ha(): HaStatus;
  /** Who holds the data-directory lock: this broker while active, otherwise the one it waits behind. */
  holder(): Promise<HaLockHolder | undefined>;
  /** Undefined unless this broker is active: a standby holds no messages. */
  destinations(): DestinationStats[] | undefined;
  connections(): { open: number; accepted: number; refused: number };
  store(): StoreStats | undefined;
  counters?(): Readonly<CoreCounters> | undefined;
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

type Route = (source: AdminSource) => Reply | Promise<Reply>;

const json = (status: number, value: unknown): Reply => ({
  status,
  type: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

const ROUTES: Record<string, Route> = {
  // 200 only from the active, so a load balancer can tell it from the standby (see healthReport).
  '/health': (source) => {
    const status = source.ha();
    // A failed journal refuses every write, so the active is not healthy even though it answers.
    if (status.role === 'active' && source.store()?.state === 'failed') {
      return json(503, { status: 'failed', role: status.role, reason: 'the journal has failed; restart the broker' });
    }
    const report = healthReport(status);
    return json(report.httpStatus, report.body);
  },
  '/role': async (source) => json(200, roleReport(source.ha(), await source.holder())),
  '/destinations': (source) => {
    const destinations = source.destinations();
    if (destinations === undefined) {
      const { role } = source.ha();
      return errorReply(
        new BrokerError('TANDEM_ERR_NOT_ACTIVE', `This broker is ${role}: it holds no messages and serves no clients; ask the active broker (GET /role names it)`),
      );
    }
    return json(200, {
      destinations: destinations.map((d) => ({
        destination: d.destination,
        kind: d.kind,
        depth: d.depth,
        inFlight: d.inFlight,
        consumers: d.consumers,
        enqueued: d.enqueued,
        dequeued: d.dequeued,
      })),
    });
  },
  '/metrics': (source) => {
    const ha = source.ha();
    const snapshot: MetricsSnapshot = {
      destinations: source.destinations() ?? [],
      connections: source.connections(),
      ha: ha.epoch === undefined ? { role: ha.role } : { role: ha.role, epoch: ha.epoch },
    };
    const store = source.store();
    if (store !== undefined) snapshot.store = store;
    const counters = source.counters?.();
    if (counters !== undefined) snapshot.counters = counters;
    return { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: renderMetrics(snapshot) };
  },
};

export async function handleAdminRequest(source: AdminSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  let reply: Reply;
  if (route === undefined) {
    reply = errorReply(new BrokerError('TANDEM_ERR_ADMIN_NOT_FOUND', `No such resource: ${path.slice(0, 200)}; try /health, /role, /destinations or /metrics`));
  } else if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply = errorReply(new BrokerError('TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED', `${req.method ?? '?'} is not allowed on ${path}; use GET`));
    res.setHeader('allow', 'GET, HEAD');
  } else {
    try {
      reply = await route(source);
    } catch (cause) {
      reply = errorReply(new BrokerError('TANDEM_ERR_INTERNAL', `Reading ${path} failed: ${(cause as Error).message}`, { cause }));
    }
  }
  res.writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

function errorReply(error: BrokerError): Reply {
  return json(error.httpStatus, error.toJSON());
}

export async function listenAdmin(config: ListenerConfig, source: AdminSource): Promise<Listener> {
  const server = createServer((req, res) => {
    // The body of any request is ignored, but it must be read for keep-alive to work.
    req.resume();
    void handleAdminRequest(source, req, res);
  });
  const address = await listen(server, config.host, config.port, 'the admin API');
  return {
    address,
    close: () => {
      const closed = closeServer(server);
      server.closeAllConnections();
      return closed;
    },
  };
}
