// The admin HTTP API: health, destinations with their counters, Prometheus metrics, and JSON errors
// for unknown paths and wrong methods.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { adminRequest, destinationStats, type DestinationRow } from './harness/admin-client.js';
import { StompitSession } from './harness/stompit-client.js';
import { uniqueName } from './harness/names.js';

describe('admin API', function () {
  const env = useBroker();

  it('GET /health answers 200 {"status":"ok","role":"active"}', async function () {
    const response = await adminRequest(env.adminPort, '/health');
    expect(response.status).to.equal(200);
    expect(response.contentType).to.match(/^application\/json/);
    expect(response.json()).to.deep.equal({ status: 'ok', role: 'active' });
  });

  it('GET /destinations reports depth, consumers and counters per destination', async function () {
    const queue = `/queue/${uniqueName('admin')}`;
    const producer = await StompitSession.connect(env.stompPort);
    for (let i = 0; i < 3; i++) await producer.send(queue, `m${i}`, { persistent: 'true' });
    const waiting = await destinationStats(env.adminPort, queue);
    expect(waiting).to.include({ destination: queue, kind: 'queue', depth: 3, consumers: 0, enqueued: 3, dequeued: 0, inFlight: 0 });

    const consumer = await StompitSession.connect(env.stompPort);
    const subscription = await consumer.subscribe(queue, { ack: 'client-individual' });
    const messages = await subscription.inbox.take(3);
    const delivered = await destinationStats(env.adminPort, queue);
    expect(delivered).to.include({ consumers: 1, inFlight: 3 });
    for (const message of messages) await consumer.ack(message);
    const done = (await destinationStats(env.adminPort, queue)) as DestinationRow;
    expect(done).to.include({ depth: 0, inFlight: 0, dequeued: 3, enqueued: 3 });
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
  });

  it('GET /destinations lists topics with their kind', async function () {
    const topic = `/topic/${uniqueName('admin-topic')}`;
    const session = await StompitSession.connect(env.stompPort);
    await session.subscribe(topic);
    const row = await destinationStats(env.adminPort, topic);
    expect(row).to.include({ kind: 'topic', consumers: 1 });
    await session.disconnect();
  });

  it('GET /metrics serves Prometheus text with message, depth, connection and journal series', async function () {
    const queue = `/queue/${uniqueName('metrics')}`;
    const session = await StompitSession.connect(env.stompPort);
    await session.send(queue, 'counted', { persistent: 'true' });
    const response = await adminRequest(env.adminPort, '/metrics');
    expect(response.status).to.equal(200);
    expect(response.contentType).to.match(/^text\/plain/);
    const lines = response.text.split('\n');
    const value = (series: string): number => {
      const line = lines.find((l) => l.startsWith(series + ' ') || l.startsWith(series + '{'));
      expect(line, `series ${series} in\n${response.text}`).to.be.a('string');
      return Number(line!.slice(line!.lastIndexOf(' ') + 1));
    };
    expect(value('tandem_messages_enqueued_total')).to.be.at.least(1);
    expect(value('tandem_connections')).to.be.at.least(1);
    expect(value('tandem_journal_syncs_total')).to.be.at.least(1);
    const depth = lines.find((l) => l.startsWith('tandem_destination_depth{') && l.includes(`destination="${queue}"`));
    expect(depth, `depth series for ${queue}`).to.be.a('string');
    expect(Number(depth!.slice(depth!.lastIndexOf(' ') + 1))).to.equal(1);
    expect(lines.some((l) => /^# TYPE tandem_messages_enqueued_total counter$/.test(l))).to.equal(true);
    await session.disconnect();
  });

  it('answers an unknown path with 404 JSON carrying TANDEM_ERR_ADMIN_NOT_FOUND', async function () {
    const response = await adminRequest(env.adminPort, '/no/such/thing');
    expect(response.status).to.equal(404);
    expect(response.contentType).to.match(/^application\/json/);
    const body = response.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).to.equal('TANDEM_ERR_ADMIN_NOT_FOUND');
    expect(body.error.message).to.be.a('string').and.not.equal('');
  });

  it('answers a wrong method with 405 JSON', async function () {
    const response = await adminRequest(env.adminPort, '/health', 'POST');
    expect(response.status).to.equal(405);
    const body = response.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).to.match(/^TANDEM_ERR_/);
  });
});
