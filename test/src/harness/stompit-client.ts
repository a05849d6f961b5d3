// stompit (a widely used STOMP client for Node) over TCP, wrapped in promises: every send, ack and
// control frame waits for its RECEIPT, so a test's next step starts after the broker has acted.
import stompit from 'stompit';
import { trackCloser } from './cleanup-registry.js';
import { Inbox } from './inbox.js';

export interface ReceivedMessage {
  headers: Record<string, string>;
  body: Buffer;
  text: string;
  /** stompit's frame object, needed to ack or nack it. */
  frame: stompit.IncomingFrame;
}

export class StompitSubscription {
  readonly inbox = new Inbox<ReceivedMessage>();

  constructor(
    readonly session: StompitSession,
    readonly id: string,
    readonly destination: string,
  ) {}

  /** UNSUBSCRIBE with a receipt; extra headers such as activemq.subscriptionName remove a durable. */
  unsubscribe(headers: Record<string, string> = {}): Promise<void> {
    return this.session.frame('UNSUBSCRIBE', { id: this.id, ...headers });
  }
}

export class StompitSession {
  readonly errors: Error[] = [];
  private nextSubscription = 1;
  private readonly untrack: () => void;
  private subscriptions = new Set<StompitSubscription>();

  private constructor(readonly client: stompit.Client) {
    this.untrack = trackCloser(() => client.destroy());
    // stompit 1.0.0's own ERROR handler destroys the frame instead of the client for a short
    // text/plain ERROR, which surfaces as an uncaught stream error; this one fails the session cleanly.
    client.setCommandHandler('ERROR', (frame) => {
      void readBody(frame).then((body) => {
        const error = Object.assign(new Error(frame.headers['message'] ?? 'ERROR frame'), { headers: frame.headers, body: body.toString() });
        client.destroy(error);
      });
    });
    client.on('error', (error: Error) => {
      this.errors.push(error);
      for (const subscription of this.subscriptions) subscription.inbox.fail(error);
    });
  }

  /** Connects with `accept-version` 1.2 unless the headers say otherwise. */
  static connect(port: number, headers: Record<string, string> = {}): Promise<StompitSession> {
    return new Promise((resolve, reject) => {
      const client = stompit.connect(
        { host: '127.0.0.1', port, timeout: 5000, connectHeaders: { host: 'localhost', 'accept-version': '1.2', ...headers } },
        (error, connected) => {
          if (error) {
            client.destroy();
            reject(error);
          } else resolve(new StompitSession(connected));
        },
      );
      // stompit may emit more errors after a failed connect (e.g. the close after an ERROR frame).
      client.on('error', () => undefined);
    });
  }

  /** The CONNECTED frame's headers. */
  get connected(): Record<string, string> {
    return this.client.headers;
  }

  /** A frame of any command with a receipt; resolves on the RECEIPT, rejects on ERROR or close. */
  frame(command: string, headers: Record<string, string>, body?: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => {
      const out = this.client.sendFrame(command, { ...headers }, { onReceipt: resolve, onError: reject });
      if (body !== undefined) out.write(body);
      out.end();
    });
  }

  send(destination: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<void> {
    return this.frame('SEND', { destination, ...headers }, body);
  }

  /** No receipt: for sends whose arrival the test checks on the consumer side. */
  sendNoReceipt(destination: string, body: Buffer | string, headers: Record<string, string> = {}): void {
    const out = this.client.send({ destination, ...headers });
    out.write(body);
    out.end();
  }

  /** SUBSCRIBE and wait for its RECEIPT, so messages sent afterwards are certain to be routed to it. */
  async subscribe(destination: string, headers: Record<string, string> = {}): Promise<StompitSubscription> {
    const id = headers['id'] ?? `sub-${this.nextSubscription++}`;
    const ack = headers['ack'] ?? 'auto';
    const subscription = new StompitSubscription(this, id, destination);
    this.subscriptions.add(subscription);
    // stompit's own subscribe() asks for no receipt; registering the listener and sending the frame
    // ourselves lets the test wait for the broker to confirm it.
    this.client.setImplicitSubscription(id, ack, (error, frame) => {
      if (error) {
        subscription.inbox.fail(error);
        return;
      }
      readBody(frame).then(
        (body) => subscription.inbox.push({ headers: frame.headers, body, text: body.toString('utf8'), frame }),
        (readError: Error) => subscription.inbox.fail(readError),
      );
    });
    await this.frame('SUBSCRIBE', { destination, ack, ...headers, id });
    return subscription;
  }

  ack(message: ReceivedMessage, headers: Record<string, string> = {}): Promise<void> {
    return this.ackOrNack('ACK', message, headers);
  }

  nack(message: ReceivedMessage, headers: Record<string, string> = {}): Promise<void> {
    return this.ackOrNack('NACK', message, headers);
  }

  /** Graceful DISCONNECT (with receipt), then the socket is closed. */
  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
        resolve();
      }, 5000);
      this.client.disconnect(() => {
        clearTimeout(timer);
        this.untrack();
        resolve();
      });
    });
  }

  /** Drops the TCP connection without DISCONNECT (like a crashed client). */
  destroy(): void {
    this.client.getTransportSocket().destroy();
    this.untrack();
  }

  private ackOrNack(command: 'ACK' | 'NACK', message: ReceivedMessage, headers: Record<string, string>): Promise<void> {
    const version = this.connected['version'];
    const refs: Record<string, string> =
      version === '1.2'
        ? { id: message.headers['ack'] ?? '' }
        : { 'message-id': message.headers['message-id'] ?? '', subscription: message.headers['subscription'] ?? '' };
    return this.frame(command, { ...refs, ...headers });
  }
}

function readBody(frame: stompit.IncomingFrame): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    frame.on('data', (chunk: Buffer) => chunks.push(chunk));
    frame.on('end', () => resolve(Buffer.concat(chunks)));
    frame.on('error', reject);
  });
}
