// System tests live beside this file; they start real broker processes and drive them over real
// sockets. The harness is exported for other system tests (failover, replication) to build on.
export { BrokerProcess, runCli, BROKER_MAIN, type BrokerPorts, type StartOptions, type TestBrokerConfig, type ExitStatus } from './harness/broker-process.js';
export { makeTempDir, removeTempDir, trackChild, trackCloser, releaseClients } from './harness/cleanup-registry.js';
export { useBroker, useBrokerCleanup, BrokerHandle } from './harness/suite.js';
export { StompitSession, StompitSubscription, type ReceivedMessage } from './harness/stompit-client.js';
export { StompJsSession } from './harness/stompjs-client.js';
export { RawSocket } from './harness/raw-socket.js';
export { adminRequest, destinationStats } from './harness/admin-client.js';
export { Inbox } from './harness/inbox.js';
export { waitFor, sleep } from './harness/wait.js';
export { BrokerPair, PairMember, usePairCleanup, freePort, PAIR_CONFIG_DIR, type PairOptions, type MemberName, type MemberPorts } from './harness/pair.js';
export { runChaos, runChaosOn, restartBoth, describeChaos, CHAOS_RECONNECT, type ChaosOptions, type ChaosResult, type ChaosSignal, type ChaosMember, type ChaosTarget } from './harness/chaos.js';
export { WireClient, StompErrorFrame, ConnectionClosedError } from './wire/stomp-client.js';
export { encodeFrame, FrameDecoder, type WireFrame } from './wire/frame-codec.js';
