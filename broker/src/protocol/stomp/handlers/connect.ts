// CONNECT and STOMP (STOMP 1.2 "Connecting", "Protocol Negotiation", "Heart-beating"): picks the
// highest version both sides speak, negotiates heart-beats, opens the core connection and builds
// the CONNECTED frame. A second CONNECT on a live connection is refused.
import { BrokerError } from '../../../errors.js';
import type { BrokerCore, ConnectionInfo, ConnectionSink, CoreConnection } from '../../../core/types.js';
import { header, type StompFrame, type StompVersion } from '../frame.js';
import { negotiateHeartbeat, parseHeartbeat, type HeartbeatOffer, type NegotiatedHeartbeat } from './heartbeat.js';
import { withStompHeaders } from './outbound.js';

export const SERVER_NAME = 'TandemMQ/0.1.0';

/** Ours, highest first. */
export const SUPPORTED_VERSIONS: readonly StompVersion[] = ['1.2', '1.1', '1.0'];

export interface ConnectEnvironment {
  core: BrokerCore;
  sink: ConnectionSink;
  remoteAddress: string;
  protocol: string;
  /** The server's own heart-beat offer. */
  heartbeat: HeartbeatOffer;
}

export interface Connected {
  version: StompVersion;
  connection: CoreConnection;
  clientId: string | undefined;
  heartbeat: NegotiatedHeartbeat;
  reply: StompFrame;
}

/**
 * "If the accept-version header is missing, it means that the client only supports version 1.0";
 * otherwise the highest version in both lists wins, and no common version is an ERROR that lists
 * ours in a `version` header.
 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion {
  if (acceptVersion === undefined) return '1.0';
  const offered = new Set(acceptVersion.split(',').map((v) => v.trim()));
  const chosen = SUPPORTED_VERSIONS.find((v) => offered.has(v));
  if (chosen === undefined) {
    const ours = [...SUPPORTED_VERSIONS].reverse().join(',');
    throw withStompHeaders(
      new BrokerError('TANDEM_ERR_UNSUPPORTED_VERSION', `Supported protocol versions are ${ours}; the client offered '${acceptVersion}'`),
      [['version', ours]],
    );
  }
  return chosen;
}

export function handleConnect(frame: StompFrame, env: ConnectEnvironment): Connected {
  const version = negotiateVersion(header(frame, 'accept-version'));
  // Heart-beats arrived with STOMP 1.1; a 1.0 connection has none.
  const heartbeat =
    version === '1.0' ? { sendEvery: 0, expectEvery: 0 } : negotiateHeartbeat(parseHeartbeat(header(frame, 'heart-beat')), env.heartbeat);
  const info: ConnectionInfo = { remoteAddress: env.remoteAddress, protocol: env.protocol };
  // `host` names a virtual host; there is one, so any value is accepted (as ActiveMQ does).
  const clientId = nonEmpty(header(frame, 'client-id'));
  if (clientId !== undefined) info.clientId = clientId;
  const login = nonEmpty(header(frame, 'login'));
  if (login !== undefined) info.login = login;
  const connection = env.core.openConnection(info, env.sink);
  const offer = version === '1.0' ? '0,0' : `${env.heartbeat.send},${env.heartbeat.receive}`;
  const reply: StompFrame = {
    command: 'CONNECTED',
    headers: [
      ['version', version],
      ['heart-beat', offer],
      ['server', SERVER_NAME],
      ['session', connection.id],
    ],
    body: Buffer.alloc(0),
  };
  return { version, connection, clientId, heartbeat, reply };
}

/** STOMP 1.2 "CONNECT or STOMP Frame": one connection, one CONNECT. */
export function alreadyConnected(): never {
  throw new BrokerError('TANDEM_ERR_ALREADY_CONNECTED', 'This connection is already connected; send DISCONNECT first');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
