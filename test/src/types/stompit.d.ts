// The part of stompit's API the system tests use (the package ships no types).
declare module 'stompit' {
  import type { EventEmitter } from 'node:events';
  import type { Readable, Writable } from 'node:stream';
  import type { Socket } from 'node:net';

  namespace stompit {
    type Headers = Record<string, string | number>;

    interface IncomingFrame extends Readable {
      command: string;
      headers: Record<string, string>;
      readString(encoding: string, callback: (error: Error | null, body?: string) => void): void;
    }

    interface SendOptions {
      onReceipt?: () => void;
      onError?: (error: Error) => void;
    }

    interface Subscription {
      getId(): string;
      unsubscribe(headers?: Headers): void;
    }

    interface ConnectOptions {
      host?: string;
      port?: number;
      timeout?: number;
      connectHeaders?: Record<string, string>;
    }

    interface Client extends EventEmitter {
      headers: Record<string, string>;
      send(headers: Headers, options?: SendOptions): Writable;
      sendFrame(command: string, headers: Headers, options?: SendOptions): Writable;
      subscribe(headers: Headers, listener: (error: Error | null, message: IncomingFrame) => void): Subscription;
      setCommandHandler(command: string, handler: (frame: IncomingFrame) => void): void;
      setImplicitSubscription(id: string, ack: string, listener: (error: Error | null, message: IncomingFrame) => void): Subscription;
      ack(message: IncomingFrame, headers?: Headers, options?: SendOptions, callback?: (error?: Error) => void): void;
      nack(message: IncomingFrame, headers?: Headers, options?: SendOptions, callback?: (error?: Error) => void): void;
      disconnect(callback?: (error: Error | null) => void): void;
      destroy(error?: Error): void;
      getTransportSocket(): Socket;
    }

    function connect(options: ConnectOptions, callback: (error: Error | null, client: Client) => void): Client;
  }

  export = stompit;
}
