// Wraps a net.Socket (plain or TLS) as a SessionTransport: corked batch writes, back-pressure
// from the socket's buffer, pause/resume, and an end() that cannot hang on a silent peer.
import type { Socket } from 'node:net';
import { LINGER_MS, WRITE_HIGH_WATER, type Acceptor } from './types.js';

export function attachSocket(socket: Socket, protocol: string, accept: Acceptor): void {
  socket.setNoDelay(true);
  let linger: NodeJS.Timeout | undefined;
  const handler = accept({
    remoteAddress: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`,
    protocol,
    write(chunks) {
      if (socket.writableEnded || socket.destroyed) return true;
      if (chunks.length === 1) {
        socket.write(chunks[0]!);
      } else {
        // Corked, the chunks go out in one writev.
        socket.cork();
        for (const chunk of chunks) socket.write(chunk);
        socket.uncork();
      }
      // Node emits 'drain' whenever its own (smaller) mark was passed, so a false here is always
      // followed by one.
      return socket.writableLength < WRITE_HIGH_WATER;
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end() {
      if (socket.destroyed) return;
      // Reading resumes (a session pauses it while it stops): a paused socket never sees the
      // peer's FIN, and would wait for the linger timer instead of closing as soon as it hangs up.
      socket.resume();
      socket.end();
      linger ??= setTimeout(() => socket.destroy(), LINGER_MS);
      linger.unref();
    },
  });
  socket.on('data', (chunk: Buffer) => handler.onData(chunk));
  socket.on('drain', () => handler.onTransportDrain());
  // A reset or similar; 'close' follows and the session cleans up there.
  socket.on('error', () => undefined);
  socket.on('close', () => {
    if (linger !== undefined) clearTimeout(linger);
    handler.onTransportClose();
  });
}
