// The thin switch from a client command to its handler (STOMP 1.2 "Client Frames"). CONNECT and
// STOMP are handled by the session before a connection exists; here they can only be a repeat.
import { BrokerError } from '../../../errors.js';
import type { CommandHandler } from './context.js';
import { handleAck, handleNack } from './ack.js';
import { alreadyConnected } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handleSend } from './send.js';
import { handleSubscribe } from './subscribe.js';
import { handleAbort, handleBegin, handleCommit } from './transaction.js';
import { handleUnsubscribe } from './unsubscribe.js';

export function handlerFor(command: string): CommandHandler {
  switch (command) {
    case 'SEND':
      return handleSend;
    case 'SUBSCRIBE':
      return handleSubscribe;
    case 'UNSUBSCRIBE':
      return handleUnsubscribe;
    case 'ACK':
      return handleAck;
    case 'NACK':
      return handleNack;
    case 'BEGIN':
      return handleBegin;
    case 'COMMIT':
      return handleCommit;
    case 'ABORT':
      return handleAbort;
    case 'DISCONNECT':
      return handleDisconnect;
    case 'CONNECT':
    case 'STOMP':
      return alreadyConnected;
    default:
      return unknownCommand;
  }
}

function unknownCommand(_ctx: unknown, frame: { command: string }): never {
  throw new BrokerError('TANDEM_ERR_UNKNOWN_COMMAND', `Unknown command '${frame.command.slice(0, 64)}'`);
}

export type { CommandHandler, HandlerContext } from './context.js';
