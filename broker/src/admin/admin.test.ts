// The admin HTTP API on a real socket with a fake source: /health and /role in each HA role,
// /destinations, /metrics, and JSON errors for an unknown path (404) or a wrong method (405).
import { expect } from 'chai';
import { request } from 'node:http';
import type { StoreStats } from '@tandem-mq/shared-store';
import type { DestinationStats } from '../core/types.js';
import type { HaStatus } from '../ha/controller.js';
import type { HaLockHolder } from '../ha/ha-lock.js';
import type { Listener } from '../transport/types.js';
import { renderMetrics } from './metrics.js';
import { listenAdmin, type AdminSource } from './server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const QUEUE: DestinationStats = { destination: '/queue/orders', kind: 'queue', depth: 3, inFlight: 1, consumers: 2, enqueued: 10, dequeued: 7 };
const TOPIC: DestinationStats = { destination: '/topic/a"b', kind: 'topic', depth: 0, inFlight: 0, consumers: 1, enqueued: 4, dequeued: 4 };
const STORE: StoreStats = { state: 'open', mode: 'durability', segments: 2, bytes: 4096, liveMessages: 3, appendedRecords: 40, syncs: 12 };

describe('admin API', () => {
  let listener: Listener;
  let store: StoreStats;
  let ha: HaStatus;
  let holder: HaLockHolder | undefined;
  const source: AdminSource = {
    ha: () => ha,
    holder: async () => holder,
    destinations: () => (ha.role === 'active' ? [QUEUE, TOPIC] : undefined),
    connections: () => ({ open: 5, accepted: 9, refused: 1 }),
    store: () => store,
    counters: () => ({ enqueued: 14, dequeued: 11, expired: 1, deadLettered: 2, duplicatesDropped: 0, connections: 5, connectionsOpened: 9 }),
  };

  beforeEach(async () => {
    store = { ...STORE };
    ha = { role: 'active', since: Date.UTC(2024, 4, 6, 7, 8, 9), reason: 'the journal is recovered and the listeners are open', epoch: 4 };
    holder = { host: 'broker-a', pid: 321, epoch: 4, acquiredAt: Date.UTC(2024, 4, 6, 7, 8, 8) };
    listener = await listenAdmin({ host: '127.0.0.1', port: 0 }, source);
  });
  afterEach(async () => {
    await listener.close();
  });

  it('GET /health answers 200 {"status":"ok","role":"active"}', async () => {
    const reply = await call(listener.address.port, 'GET', '/health');
    expect(reply.status).to.equal(200);
    expect(reply.headers['content-type']).to.match(/^application\/json/);
    expect(JSON.parse(reply.body)).to.deep.equal({ status: 'ok', role: 'active' });
  });

  it('GET /health answers 503 once the journal has failed', async () => {
    store.state = 'failed';
    const reply = await call(listener.address.port, 'GET', '/health');
    expect(reply.status).to.equal(503);
    expect(JSON.parse(reply.body)).to.include({ status: 'failed', role: 'active' });
  });

  it('GET /health answers 503 naming the role on a standby, so a load balancer routes to the active only', async () => {
    ha = { role: 'standby', since: 0, reason: 'contending for the lock' };
    const reply = await call(listener.address.port, 'GET', '/health');
    expect(reply.status).to.equal(503);
    expect(JSON.parse(reply.body)).to.deep.equal({ status: 'standby', role: 'standby' });
  });

  it('GET /role gives the role, since when and why, the epoch and the holder', async () => {
    const reply = await call(listener.address.port, 'GET', '/role');
    expect(reply.status).to.equal(200);
    expect(JSON.parse(reply.body)).to.deep.equal({
      role: 'active',
      since: '2024-05-06T07:08:09.000Z',
      reason: 'the journal is recovered and the listeners are open',
      epoch: 4,
      holder: { host: 'broker-a', pid: 321, epoch: 4, acquiredAt: '2024-05-06T07:08:08.000Z' },
    });
  });

  it('GET /role on a standby names the active it waits behind', async () => {
    ha = { role: 'standby', since: 0, reason: 'contending for the lock' };
    const reply = await call(listener.address.port, 'GET', '/role');
    expect(JSON.parse(reply.body)).to.include({ role: 'standby' }).and.to.have.nested.property('holder.pid', 321);
  });

  it('GET /destinations on a standby answers 503 TANDEM_ERR_NOT_ACTIVE', async () => {
    ha = { role: 'standby', since: 0, reason: 'contending for the lock' };
    const reply = await call(listener.address.port, 'GET', '/destinations');
    expect(reply.status).to.equal(503);
    const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('TANDEM_ERR_NOT_ACTIVE');
    expect(body.error.message).to.contain('standby');
  });

  it('GET /metrics reports the HA role as one series per role, and the epoch', async () => {
    ha = { role: 'fenced', since: 0, reason: 'lost the lock', epoch: 7 };
    const lines = (await call(listener.address.port, 'GET', '/metrics')).body.split('\n');
    expect(lines).to.include('tandem_ha_role{role="fenced"} 1');
    expect(lines).to.include('tandem_ha_role{role="active"} 0');
    expect(lines).to.include('tandem_ha_epoch 7');
  });

  it('GET /destinations lists every destination with its numbers', async () => {
    const reply = await call(listener.address.port, 'GET', '/destinations?verbose=1');
    expect(reply.status).to.equal(200);
    expect(JSON.parse(reply.body)).to.deep.equal({ destinations: [QUEUE, TOPIC] });
  });

  it('GET /metrics answers in the Prometheus text format', async () => {
    const reply = await call(listener.address.port, 'GET', '/metrics');
    expect(reply.status).to.equal(200);
    expect(reply.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    const lines = reply.body.split('\n');
    expect(lines).to.include('tandem_messages_enqueued_total 14');
    expect(lines).to.include('tandem_connections 5');
    expect(lines).to.include('tandem_journal_syncs_total 12');
    expect(lines).to.include('tandem_destination_depth{destination="/queue/orders",kind="queue"} 3');
    expect(lines).to.include('tandem_destination_depth{destination="/topic/a\\"b",kind="topic"} 0');
    expect(lines).to.include('# TYPE tandem_destination_depth gauge');
  });

  it('sums the destinations when the core gives no totals, and leaves out the journal before it is open', () => {
    const text = renderMetrics({ destinations: [QUEUE, TOPIC], connections: { open: 0, accepted: 0, refused: 0 } });
    expect(text).to.contain('\ntandem_messages_enqueued_total 14\n');
    expect(text).not.to.contain('tandem_journal_');
  });

  it('answers an unknown path with 404 TANDEM_ERR_ADMIN_NOT_FOUND', async () => {
    const reply = await call(listener.address.port, 'GET', '/queues');
    expect(reply.status).to.equal(404);
    const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('TANDEM_ERR_ADMIN_NOT_FOUND');
    expect(body.error.message).to.contain('/queues');
  });

  it('answers a wrong method with 405 TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED and an Allow header', async () => {
    const reply = await call(listener.address.port, 'POST', '/health');
    expect(reply.status).to.equal(405);
    expect(reply.headers['allow']).to.equal('GET, HEAD');
    expect((JSON.parse(reply.body) as { error: { code: string } }).error.code).to.equal('TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED');
  });

  it('answers HEAD with the status and no body', async () => {
    const reply = await call(listener.address.port, 'HEAD', '/health');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.equal('');
  });
});
