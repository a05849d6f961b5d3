// @tandem-mq/replicator: cross-region replication of the journal. The replicator arrives after the
// active/standby pair; this package holds its public entry point.
export const REPLICATION_PROTOCOL = 'tandem-replication.v1';
