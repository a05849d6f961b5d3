// @tandem-mq/broker: the broker process's public API.
export * from './errors.js';
export type * from './core/types.js';
export { createBroker } from './broker.js';
export type { Broker, BrokerDependencies, ListeningAddresses } from './broker.js';
export { loadConfig, readConfigFile } from './config/load.js';
export type { ConfigFlags, LoadConfigOptions } from './config/load.js';
export { defaultConfig, validateConfig } from './config/schema.js';
export type * from './config/schema.js';
export type { ListeningAddress } from './transport/types.js';
export { StompSession } from './protocol/stomp/session.js';
export type { SessionTransport, StompSessionOptions } from './protocol/stomp/session.js';
export { HaController } from './ha/controller.js';
export type { HaControllerOptions, HaStatus, HaOutcome } from './ha/controller.js';
export { RoleMachine, ROLES, ROLE_TRANSITIONS } from './ha/role.js';
export type { Role, RoleTransition } from './ha/role.js';
export { healthReport, roleReport } from './ha/report.js';
export type * from './ha/ha-lock.js';
