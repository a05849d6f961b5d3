// The STOMP-over-TLS listener (node:tls): the same byte mover as TCP behind a TLS handshake.
import { readFile } from 'node:fs/promises';
import { createServer, type TlsOptions } from 'node:tls';
import type { TlsConfig } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import { closeServer, listen } from './listen.js';
import { attachSocket } from './socket-transport.js';
import type { Acceptor, Listener } from './types.js';

export async function listenTls(config: TlsConfig, accept: Acceptor): Promise<Listener> {
  const options: TlsOptions = { cert: await readPem(config.cert, 'tls.cert'), key: await readPem(config.key, 'tls.key') };
  if (config.ca !== undefined) options.ca = await readPem(config.ca, 'tls.ca');
  let server;
  try {
    server = createServer(options, (socket) => attachSocket(socket, 'stomp+tls', accept));
  } catch (cause) {
    throw new BrokerError('TANDEM_ERR_CONFIG_INVALID', `tls: cannot use the certificate or key: ${(cause as Error).message}`, { cause });
  }
  // A failed handshake never reaches a session; the client sees the TLS alert.
  server.on('tlsClientError', () => undefined);
  const address = await listen(server, config.host, config.port, 'STOMP over TLS');
  return { address, close: () => closeServer(server) };
}

async function readPem(path: string, field: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new BrokerError('TANDEM_ERR_CONFIG_UNREADABLE', `${field}: cannot read ${path}: ${reason}`, { cause });
  }
}
