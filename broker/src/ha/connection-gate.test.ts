// The gate fencing uses to cut every client off at once: silenced before any is closed, each
// session told of the close exactly once, and nothing read or written afterwards.
import { expect } from 'chai';
import type { SessionTransport, TransportHandler } from '../transport/types.js';
import { ConnectionGate } from './connection-gate.js';

class FakeTransport implements SessionTransport {
  readonly remoteAddress = '127.0.0.1:5000';
  readonly protocol = 'stomp+tcp';
  written: string[] = [];
  calls: string[] = [];
  write(chunks: Buffer[]): boolean {
    this.written.push(...chunks.map((c) => c.toString()));
    return true;
  }
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
  end(): void {
    this.calls.push('end');
  }
}

/** A session stand-in: writes what it is told to, and counts what reaches it. */
class FakeSession implements TransportHandler {
  data: string[] = [];
  closes = 0;
  constructor(readonly transport: SessionTransport, private readonly onClose: () => void = () => undefined) {}
  onData(chunk: Buffer): void {
    this.data.push(chunk.toString());
  }
  onTransportDrain(): void {}
  onTransportClose(): void {
    this.closes++;
    this.onClose();
  }
}

describe('connection gate', function () {
  it('passes bytes both ways while open', function () {
    const sessions: FakeSession[] = [];
    const gate = new ConnectionGate((t) => sessions[sessions.push(new FakeSession(t)) - 1]!);
    const transport = new FakeTransport();
    const handler = gate.accept(transport);
    handler.onData(Buffer.from('SEND'));
    sessions[0]!.transport.write([Buffer.from('RECEIPT')]);
    expect(sessions[0]!.data).to.deep.equal(['SEND']);
    expect(transport.written).to.deep.equal(['RECEIPT']);
    expect(gate.size).to.equal(1);
  });

  it('dropAll silences every connection before closing any, and tells each session once', function () {
    const sessions: FakeSession[] = [];
    // The first session's close hands a message to the second, as the core does with unacked ones.
    const gate = new ConnectionGate((t) => {
      const session = new FakeSession(t, () => sessions[1]?.transport.write([Buffer.from('MESSAGE')]));
      sessions.push(session);
      return session;
    });
    const transports = [new FakeTransport(), new FakeTransport()];
    const handlers = transports.map((t) => gate.accept(t));
    gate.dropAll();
    expect(transports.map((t) => t.written)).to.deep.equal([[], []]);
    expect(transports.map((t) => t.calls)).to.deep.equal([['end'], ['end']]);
    expect(sessions.map((s) => s.closes)).to.deep.equal([1, 1]);
    expect(gate.size).to.equal(0);

    handlers[0]!.onData(Buffer.from('SEND'));
    handlers[0]!.onTransportClose();
    sessions[0]!.transport.write([Buffer.from('ERROR')]);
    expect(sessions[0]!.data).to.deep.equal([]);
    expect(sessions[0]!.closes, 'the socket closing later is not a second close').to.equal(1);
    expect(transports[0]!.written).to.deep.equal([]);
  });

  it('hangs up on a connection that reaches it after dropAll, without creating a session', function () {
    let created = 0;
    const gate = new ConnectionGate((t) => (created++, new FakeSession(t)));
    gate.dropAll();
    const transport = new FakeTransport();
    gate.accept(transport).onData(Buffer.from('CONNECT'));
    expect(created).to.equal(0);
    expect(transport.calls).to.deep.equal(['end']);
  });
});
