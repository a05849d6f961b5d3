// The admin HTTP API (node:http): GET /health, /destinations and /metrics. Errors are JSON
// `{"error":{"code","message"}}` with the registry's codes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { StoreStats } from '@tandem-mq/shared-store';
import type { CoreCounters } from '../core/index.js';
import type { DestinationStats } from '../core/types.js';
import { BrokerError } from '../errors.js';
import type { ListenerConfig } from '../config/schema.js';
import { closeServer, listen } from '../transport/listen.js';
import type { Listener } from '../transport/types.js';
import { renderMetrics, type MetricsSnapshot } from './metrics.js';

/** What the admin API reads; the broker supplies it. */
export interface AdminSource {
  /** "active" until the HA role machine lands. */
  role(): string;
  destinations(): DestinationStats[];
  connections(): { open: number; accepted: number; refused: number };
  store(): StoreStats | undefined;
  counters?(): Readonly<CoreCounters>;
}

type Route = (source: AdminSource) => { status: number; type: string; body: string };

const json = (status: number, value: unknown): ReturnType<Route> => ({
  status,
  type: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

const ROUTES: Record<string, Route> = {
  '/health': (source) => {
    // A failed journal refuses every write, so the broker is not healthy even though it answers.
    const failed = source.store()?.state === 'failed';
    return failed
      ? json(503, { status: 'failed', role: source.role(), reason: 'the journal has failed; restart the broker' })
      : json(200, { status: 'ok', role: source.role() });
  },
  '/destinations': (source) =>
    json(200, {
      destinations: source.destinations().map((d) => ({
        destination: d.destination,
        kind: d.kind,
        depth: d.depth,
        inFlight: d.inFlight,
        consumers: d.consumers,
        enqueued: d.enqueued,
        dequeued: d.dequeued,
      })),
    }),
  '/metrics': (source) => {
    const snapshot: MetricsSnapshot = { destinations: source.destinations(), connections: source.connections() };
    const store = source.store();
    if (store !== undefined) snapshot.store = store;
    const counters = source.counters?.();
    if (counters !== undefined) snapshot.counters = counters;
    return { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: renderMetrics(snapshot) };
  },
};

export function handleAdminRequest(source: AdminSource, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  const route = ROUTES[path];
  let reply: ReturnType<Route>;
  if (route === undefined) {
    reply = errorReply(new BrokerError('TANDEM_ERR_ADMIN_NOT_FOUND', `No such resource: ${path.slice(0, 200)}; try /health, /destinations or /metrics`));
  } else if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply = errorReply(new BrokerError('TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED', `${req.method ?? '?'} is not allowed on ${path}; use GET`));
    res.setHeader('allow', 'GET, HEAD');
  } else {
    try {
      reply = route(source);
    } catch (cause) {
      reply = errorReply(new BrokerError('TANDEM_ERR_INTERNAL', `Reading ${path} failed: ${(cause as Error).message}`, { cause }));
    }
  }
  res.writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

function errorReply(error: BrokerError): ReturnType<Route> {
  return json(error.httpStatus, error.toJSON());
}

export async function listenAdmin(config: ListenerConfig, source: AdminSource): Promise<Listener> {
  const server = createServer((req, res) => {
    // The body of any request is ignored, but it must be read for keep-alive to work.
    req.resume();
    handleAdminRequest(source, req, res);
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
