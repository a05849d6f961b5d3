// @tandem-mq/failover-client: STOMP over ActiveMQ-style failover URIs. The client arrives with the
// active/standby pair; this package holds its public entry point.
export const FAILOVER_SCHEME = 'failover:';
