// Renders the broker's numbers in the Prometheus text exposition format (version 0.0.4).
import type { StoreStats } from '@tandem-mq/shared-store';
import type { CoreCounters } from '../core/index.js';
import type { DestinationStats } from '../core/types.js';
import { ROLES, type Role } from '../ha/role.js';

export interface MetricsSnapshot {
  destinations: DestinationStats[];
  connections: { open: number; accepted: number; refused: number };
  /** The core's totals; without them the message totals are summed over destinations. */
  counters?: Readonly<CoreCounters>;
  /** Absent before the store is open. */
  store?: StoreStats;
  /** The HA role, and the lock's epoch once this broker has held it. */
  ha?: { role: Role; epoch?: number };
}

type Sample = [labels: Record<string, string>, value: number];

export function renderMetrics(snapshot: MetricsSnapshot): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${renderLabels(labels)} ${formatValue(value)}`);
  };
  const { destinations: dests, connections, counters, store, ha } = snapshot;
  const sum = (pick: (d: DestinationStats) => number): number => dests.reduce((total, d) => total + pick(d), 0);
  const per = (pick: (d: DestinationStats) => number): Sample[] =>
    dests.map((d) => [{ destination: d.destination, kind: d.kind }, pick(d)]);

  metric('tandem_messages_enqueued_total', 'counter', 'Messages accepted from producers.', [[{}, counters?.enqueued ?? sum((d) => d.enqueued)]]);
  metric('tandem_messages_dequeued_total', 'counter', 'Deliveries acknowledged by consumers.', [[{}, counters?.dequeued ?? sum((d) => d.dequeued)]]);
  if (counters !== undefined) {
    metric('tandem_messages_expired_total', 'counter', 'Messages that expired before delivery.', [[{}, counters.expired]]);
    metric('tandem_messages_dead_lettered_total', 'counter', 'Messages moved to a dead-letter queue.', [[{}, counters.deadLettered]]);
    metric('tandem_messages_duplicates_dropped_total', 'counter', 'Sends dropped as repeats of a producer sequence already stored.', [[{}, counters.duplicatesDropped]]);
  }
  metric('tandem_connections', 'gauge', 'Open client connections across all listeners.', [[{}, connections.open]]);
  metric('tandem_connections_accepted_total', 'counter', 'Client connections accepted.', [[{}, connections.accepted]]);
  metric('tandem_connections_refused_total', 'counter', 'Client connections refused (maxConnections or stopping).', [[{}, connections.refused]]);
  metric('tandem_destinations', 'gauge', 'Destinations the broker knows.', [[{}, dests.length]]);
  metric('tandem_destination_depth', 'gauge', 'Messages waiting in a destination.', per((d) => d.depth));
  metric('tandem_destination_in_flight', 'gauge', 'Messages delivered and not yet acknowledged.', per((d) => d.inFlight));
  metric('tandem_destination_consumers', 'gauge', 'Consumers subscribed to a destination.', per((d) => d.consumers));
  metric('tandem_destination_enqueued_total', 'counter', 'Messages accepted into a destination.', per((d) => d.enqueued));
  metric('tandem_destination_dequeued_total', 'counter', 'Messages removed from a destination.', per((d) => d.dequeued));
  if (store !== undefined) {
    metric('tandem_journal_syncs_total', 'counter', 'fdatasync calls the journal has completed.', [[{}, store.syncs]]);
    metric('tandem_journal_appended_records_total', 'counter', 'Records appended to the journal.', [[{}, store.appendedRecords]]);
    metric('tandem_journal_segments', 'gauge', 'Journal segment files.', [[{}, store.segments]]);
    metric('tandem_journal_bytes', 'gauge', 'Bytes in journal segment files.', [[{}, store.bytes]]);
    metric('tandem_journal_live_messages', 'gauge', 'Stored messages not yet acknowledged by every target.', [[{}, store.liveMessages]]);
    metric('tandem_journal_failed', 'gauge', '1 when the journal has failed and refuses writes.', [[{}, store.state === 'failed' ? 1 : 0]]);
  }
  if (ha !== undefined) {
    // One series per role, 1 for the current one: the usual shape for an enum in Prometheus.
    metric('tandem_ha_role', 'gauge', 'The broker\'s HA role (1 for the current one).', ROLES.map((role) => [{ role }, role === ha.role ? 1 : 0]));
    if (ha.epoch !== undefined) metric('tandem_ha_epoch', 'gauge', 'The data-directory lock epoch this broker holds or last held.', [[{}, ha.epoch]]);
  }
  return out.join('\n') + '\n';
}

function renderLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return `{${names.map((n) => `${n}="${escapeLabel(labels[n]!)}"`).join(',')}}`;
}

/** The format's escapes for label values: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
