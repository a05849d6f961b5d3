// The plain STOMP listener (node:net). It only moves bytes between sockets and sessions.
import { createServer } from 'node:net';
import type { ListenerConfig } from '../config/schema.js';
import { closeServer, listen } from './listen.js';
import { attachSocket } from './socket-transport.js';
import type { Acceptor, Listener } from './types.js';

export async function listenTcp(config: ListenerConfig, accept: Acceptor): Promise<Listener> {
  const server = createServer({ noDelay: true }, (socket) => attachSocket(socket, 'stomp+tcp', accept));
  const address = await listen(server, config.host, config.port, 'STOMP');
  return { address, close: () => closeServer(server) };
}
