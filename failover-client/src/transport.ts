// Byte links to one endpoint: TCP for stomp://, TLS for stomp+ssl://, a WebSocket (subprotocol
// v12.stomp) for ws:// and wss://. A link only moves bytes; STOMP lives in connection.ts.
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import type { Endpoint } from './uri.js';

export interface Link {
  write(bytes: Buffer): void;
  /** Tears the link down at once; onClose fires (once) if it has not already. */
  destroy(): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once, when the link is gone for any reason. */
  onClose(listener: (reason: string) => void): void;
}

/** TLS settings beyond the URI (a private CA, a client certificate). */
export type TlsSettings = Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'servername'>;

/**
 * Opens a link; rejects with the socket's error when the endpoint cannot be reached, or when
 * `signal` aborts first (the half-open socket is destroyed).
 */
export function openLink(endpoint: Endpoint, tlsSettings: TlsSettings, signal: AbortSignal): Promise<Link> {
  return endpoint.scheme === 'ws' || endpoint.scheme === 'wss' ? openWebSocket(endpoint, tlsSettings, signal) : openSocket(endpoint, tlsSettings, signal);
}

function tlsOptions(endpoint: Endpoint, settings: TlsSettings): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { ...settings };
  // An IP address is not a valid SNI name (RFC 6066 section 3).
  if (options.servername === undefined && net.isIP(endpoint.host) === 0) options.servername = endpoint.host;
  if (!endpoint.options.verifyHostName) {
    options.rejectUnauthorized = false;
    options.checkServerIdentity = () => undefined;
  }
  return options;
}

function openSocket(endpoint: Endpoint, settings: TlsSettings, signal: AbortSignal): Promise<Link> {
  return new Promise((resolve, reject) => {
    const base = { host: endpoint.host, port: endpoint.port, noDelay: endpoint.options.tcpNoDelay, keepAlive: endpoint.options.keepAlive };
    const socket = endpoint.tls ? tls.connect({ ...base, ...tlsOptions(endpoint, settings) }) : net.connect(base);
    const readyEvent = endpoint.tls ? 'secureConnect' : 'connect';
    const onEarlyError = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onEarlyError);
    const onAbort = (): void => onEarlyError(new Error('connection attempt aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    socket.once(readyEvent, () => {
      socket.off('error', onEarlyError);
      signal.removeEventListener('abort', onAbort);
      const closers: Array<(reason: string) => void> = [];
      let closedReason: string | undefined;
      const closeOnce = (reason: string): void => {
        if (closedReason !== undefined) return;
        closedReason = reason;
        for (const listener of closers) listener(reason);
      };
      socket.on('error', (error) => closeOnce(`socket error: ${error.message}`));
      socket.on('close', () => closeOnce('the server closed the connection'));
      resolve({
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        destroy: () => {
          socket.destroy();
          closeOnce('closed by the client');
        },
        onData: (listener) => socket.on('data', listener),
        onClose: (listener) => {
          if (closedReason !== undefined) listener(closedReason);
          else closers.push(listener);
        },
      });
    });
  });
}

function openWebSocket(endpoint: Endpoint, settings: TlsSettings, signal: AbortSignal): Promise<Link> {
  return new Promise((resolve, reject) => {
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    const url = `${endpoint.scheme}://${host}:${endpoint.port}${endpoint.path}`;
    // The TLS options are handed to https.request by ws; its typing of checkServerIdentity differs.
    const options = (endpoint.tls ? tlsOptions(endpoint, settings) : {}) as unknown as WebSocket.ClientOptions;
    const ws = new WebSocket(url, ['v12.stomp'], options);
    ws.binaryType = 'nodebuffer';
    const onEarlyError = (error: Error): void => {
      // terminate() while connecting emits one more 'error'; it must not go unhandled.
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    ws.once('error', onEarlyError);
    const onAbort = (): void => onEarlyError(new Error('connection attempt aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => {
      ws.off('error', onEarlyError);
      signal.removeEventListener('abort', onAbort);
      if (endpoint.options.tcpNoDelay || endpoint.options.keepAlive) {
        const raw = (ws as unknown as { _socket?: net.Socket })._socket;
        raw?.setNoDelay(endpoint.options.tcpNoDelay);
        if (endpoint.options.keepAlive) raw?.setKeepAlive(true);
      }
      const closers: Array<(reason: string) => void> = [];
      let closedReason: string | undefined;
      const closeOnce = (reason: string): void => {
        if (closedReason !== undefined) return;
        closedReason = reason;
        for (const listener of closers) listener(reason);
      };
      ws.on('error', (error) => closeOnce(`websocket error: ${error.message}`));
      ws.on('close', (code) => closeOnce(`the server closed the websocket (code ${code})`));
      resolve({
        write: (bytes) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
        },
        destroy: () => {
          ws.terminate();
          closeOnce('closed by the client');
        },
        onData: (listener) =>
          ws.on('message', (data: WebSocket.RawData) => {
            listener(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
          }),
        onClose: (listener) => {
          if (closedReason !== undefined) listener(closedReason);
          else closers.push(listener);
        },
      });
    });
  });
}
