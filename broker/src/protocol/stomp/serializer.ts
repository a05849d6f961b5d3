// STOMP frame serializer. (Being written.)
import type { StompFrame, StompVersion } from './frame.js';

export const HEARTBEAT_EOL = Buffer.from('\n');

export function serializeFrame(frame: StompFrame, version: StompVersion): Buffer {
  void version;
  return Buffer.concat([Buffer.from(frame.command + '\n\n'), frame.body, Buffer.from([0])]);
}
