// The region as operators see it: GET /replication (role, counterpart, state, link, position, lag,
// promotion history, quarantine) and the replication lines of GET /metrics, on either side of the
// link and in any HA role.
import { listQuarantine, renderReplicationMetrics, NO_LAG, type Lag } from '@tandem-mq/replicator';
import type { ReplicationConfig } from '../config/replication.js';
import type { RegionActivation } from './region-activation.js';
import type { HistoryEntry, RegionState } from './region-state.js';

export interface ReplicationView {
  region: string;
  role: 'primary' | 'replica';
  generation: number;
  counterpart: { region: string; links: string[]; clients: string[] };
  /** shipping, receiving, waiting-for-link, draining, drained, promoting, rejoining, replaced, or the HA role (standby, ...). */
  state: string;
  link: { up: boolean; peer: string | undefined };
  /** The journal position up to which the replica is durable. */
  position: { segment: number; offset: number; journalOffset: number } | undefined;
  lag: Lag;
  history: HistoryEntry[];
  quarantine: Array<{ folder: string; bytes: number; records: number }>;
  error?: { code: string; message: string };
}

/** The view of an active broker of the region. */
export async function activeView(region: RegionActivation): Promise<ReplicationView> {
  const state = region.state;
  const config = region.region;
  const sender = region.phase === 'primary' ? region.sender?.report() : undefined;
  const receiver = region.receiver?.report();
  let phase: string = region.phase;
  if (region.phase === 'primary') phase = region.sender?.linked === true ? 'shipping' : 'waiting-for-link';
  else if (region.phase === 'replica') phase = region.receiver?.linked === true ? 'receiving' : 'waiting-for-link';
  const view: ReplicationView = {
    ...base(config, state),
    state: phase,
    link: {
      up: sender !== undefined ? region.sender!.linked : region.receiver?.linked === true,
      peer: sender !== undefined ? (region.sender!.linked ? region.sender!.url : undefined) : receiver?.counterpart,
    },
    position: sender?.position ?? receiver?.position,
    lag: sender?.lag ?? receiver?.lag ?? { ...NO_LAG },
    quarantine: await listQuarantine(region.dataDir),
  };
  const problem = region.lastProblem ?? sender?.error ?? receiver?.error;
  if (problem !== undefined) view.error = problem;
  return view;
}

/** The view of a broker that is not active: what region.json says, and the HA role as the state. */
export async function inactiveView(config: ReplicationConfig, state: RegionState | undefined, haRole: string, dataDir: string): Promise<ReplicationView> {
  return {
    ...base(config, state),
    state: haRole,
    link: { up: false, peer: undefined },
    position: undefined,
    lag: { ...NO_LAG },
    quarantine: await listQuarantine(dataDir),
  };
}

function base(config: ReplicationConfig, state: RegionState | undefined): Pick<ReplicationView, 'region' | 'role' | 'generation' | 'counterpart' | 'history'> {
  return {
    region: config.region,
    role: state?.role ?? config.initialRole,
    generation: state?.generation ?? 1,
    counterpart: { region: config.counterpart.region, links: [...config.counterpart.links], clients: [...config.counterpart.clients] },
    history: state?.history ?? [],
  };
}

/** Prometheus lines: the link's (as the standalone tools report them) plus the region's role and generation. */
export function replicationMetrics(region: RegionActivation | undefined, view: ReplicationView): string {
  const lines: string[] = [];
  const sender = region?.phase === 'primary' ? region.sender?.report() : undefined;
  const receiver = region?.receiver?.report();
  const link = sender ?? receiver;
  if (link !== undefined) lines.push(renderReplicationMetrics(link).trimEnd());
  else {
    const role = `role="${view.role}"`;
    lines.push(
      '# HELP tandem_replication_lag_records Journal records not yet durable at the replica.',
      '# TYPE tandem_replication_lag_records gauge',
      `tandem_replication_lag_records{${role}} 0`,
      '# HELP tandem_replication_link_up 1 while the link is streaming.',
      '# TYPE tandem_replication_link_up gauge',
      `tandem_replication_link_up{${role}} 0`,
    );
  }
  lines.push(
    '# HELP tandem_region_generation The region generation: 1, plus one per promotion.',
    '# TYPE tandem_region_generation gauge',
    `tandem_region_generation ${view.generation}`,
    "# HELP tandem_region_role The region's role (1 for the current one).",
    '# TYPE tandem_region_role gauge',
    `tandem_region_role{role="primary"} ${view.role === 'primary' ? 1 : 0}`,
    `tandem_region_role{role="replica"} ${view.role === 'replica' ? 1 : 0}`,
    '# HELP tandem_region_quarantined_records Records moved to quarantine folders by rejoins.',
    '# TYPE tandem_region_quarantined_records gauge',
    `tandem_region_quarantined_records ${view.quarantine.reduce((n, q) => n + Math.max(0, q.records), 0)}`,
  );
  return lines.join('\n') + '\n';
}
