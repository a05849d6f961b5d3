// The admin HTTP API (node:http): GET /health, /role, /destinations, /metrics and /replication,
// and POST /promote, answering in every HA role. Errors are JSON `{"error":{"code","message"}}`
// with the registry's codes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { StoreStats } from '@tandem-mq/shared-store';
import type { CoreCounters } from '../core/index.js';
import type { DestinationStats } from '../core/types.js';
import { BrokerError, TandemError } from '../errors.js';
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
  /** GET /replication: undefined when the broker has no replication section. */
  replication?(): Promise<unknown> | undefined;
  /** The replication lines of GET /metrics. */
  replicationMetrics?(): Promise<string> | undefined;
  /**
   * GET /health with replication: healthy when active and the region's role works (serving as
   * primary, or receiving as replica); the body tells both roles.
   */
  regionHealth?(): { healthy: boolean; region: Record<string, unknown> } | undefined;
  /** POST /promote with a checked body. */
  promote?(request: PromoteRequest): Promise<unknown>;
}

/** A checked POST /promote body. */
export interface PromoteRequest {
  mode: 'SWITCHOVER' | 'FAILOVER';
  timeoutMs?: number;
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
    const region = source.regionHealth?.();
    if (region !== undefined) {
      const healthy = status.role === 'active' && region.healthy;
      return json(healthy ? 200 : 503, { ...report.body, status: healthy ? 'ok' : status.role === 'active' ? 'degraded' : status.role, region: region.region });
    }
    return json(report.httpStatus, report.body);
  },
  '/replication': async (source) => {
    const view = await source.replication?.();
    if (view === undefined) return errorReply(new BrokerError('TANDEM_ERR_ADMIN_NOT_FOUND', 'This broker has no replication section in its config'));
    return json(200, view);
  },
  '/role': async (source) => json(200, roleReport(source.ha(), await source.holder())),
  '/destinations': (source) => {
    const destinations = source.destinations();
    if (destinations === undefined) {
      const { role } = source.ha();
      const region = role === 'active' ? source.regionHealth?.()?.region : undefined;
      const message =
        region === undefined
          ? `This broker is ${role}: it holds no messages and serves no clients; ask the active broker (GET /role names it)`
          : `This broker is the active broker of region ${String(region['name'])} (${String(region['role'])}, ${String(region['state'])}): it serves no clients; ask the primary region (GET /replication names it)`;
      return errorReply(new BrokerError('TANDEM_ERR_NOT_ACTIVE', message));
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
  '/metrics': async (source) => {
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
    const replication = (await source.replicationMetrics?.()) ?? '';
    return { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: renderMetrics(snapshot) + replication };
  },
};

type PostRoute = (source: AdminSource, body: unknown) => Promise<Reply>;

const POST_ROUTES: Record<string, PostRoute> = {
  '/promote': async (source, body) => {
    if (source.promote === undefined) {
      return errorReply(new BrokerError('TANDEM_ERR_PROMOTE_NOT_REPLICA', 'This broker has no replication section: there is no replica to promote'));
    }
    const request = promoteRequest(body);
    if (request instanceof BrokerError) return errorReply(request);
    return json(200, await source.promote(request));
  },
};

/** The body of POST /promote: {"mode": "SWITCHOVER" | "FAILOVER", "timeoutMs"?: n}, any case for the mode. */
export function promoteRequest(body: unknown): PromoteRequest | BrokerError {
  const bad = (message: string): BrokerError => new BrokerError('TANDEM_ERR_PROMOTE_MODE', message);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('The body must be a JSON object such as {"mode": "SWITCHOVER"}');
  const { mode, timeoutMs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return bad(`Unknown field ${unknown[0]}; the body takes mode and timeoutMs`);
  const upper = typeof mode === 'string' ? mode.toUpperCase() : undefined;
  if (upper !== 'SWITCHOVER' && upper !== 'FAILOVER') return bad(`mode must be SWITCHOVER or FAILOVER (got ${JSON.stringify(mode) ?? 'nothing'})`);
  const request: PromoteRequest = { mode: upper };
  if (timeoutMs !== undefined) {
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) {
      return bad('timeoutMs must be an integer from 100 to 600000');
    }
    request.timeoutMs = timeoutMs;
  }
  return request;
}

const MAX_BODY_BYTES = 64 * 1024;

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return resolve(new BrokerError('TANDEM_ERR_PROMOTE_MODE', `The body is larger than ${MAX_BODY_BYTES} bytes`));
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        resolve(new BrokerError('TANDEM_ERR_PROMOTE_MODE', 'The body is not JSON'));
      }
    });
  });
}

export async function handleAdminRequest(source: AdminSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  const post = Object.hasOwn(POST_ROUTES, path) ? POST_ROUTES[path] : undefined;
  let reply: Reply;
  if (post === undefined && req.method === 'POST') req.resume();
  if (post !== undefined && req.method === 'POST') {
    try {
      const body = await readBody(req);
      reply = body instanceof BrokerError ? errorReply(body) : await post(source, body);
    } catch (cause) {
      reply = cause instanceof TandemError ? json(cause.httpStatus, cause.toJSON()) : errorReply(new BrokerError('TANDEM_ERR_INTERNAL', `${path} failed: ${(cause as Error).message}`, { cause }));
    }
  } else if (post !== undefined) {
    reply = errorReply(new BrokerError('TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED', `${req.method ?? '?'} is not allowed on ${path}; use POST`));
    res.setHeader('allow', 'POST');
  } else if (route === undefined) {
    reply = errorReply(new BrokerError('TANDEM_ERR_ADMIN_NOT_FOUND', `No such resource: ${path.slice(0, 200)}; try /health, /role, /destinations, /metrics or /replication`));
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
    // Only POST reads its body; any other body is ignored, but it must be read for keep-alive to work.
    if (req.method !== 'POST') req.resume();
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
