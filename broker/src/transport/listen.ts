// Starting and stopping a node server on host:port, with failures that name what was starting.
import type { Server } from 'node:net';
import { BrokerError } from '../errors.js';
import type { ListeningAddress } from './types.js';

export function listen(server: Server, host: string, port: number, what: string): Promise<ListeningAddress> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new BrokerError('TANDEM_ERR_LISTEN_FAILED', `cannot listen for ${what} on ${host}:${port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : { host, port });
    });
  });
}

/** Resolves once the server has stopped and its last connection has closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
