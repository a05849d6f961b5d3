// The admin API's view of the region, in every HA role: GET /replication, the replication lines of
// GET /metrics, /health's region part, and POST /promote (only the active broker can promote; a
// standby names the active it waits behind).
import type { AdminSource, PromoteRequest } from '../admin/server.js';
import type { ReplicationConfig } from '../config/replication.js';
import { BrokerError } from '../errors.js';
import type { HaStatus } from '../ha/controller.js';
import type { HaLockHolder } from '../ha/ha-lock.js';
import { promote } from './promotion.js';
import type { RegionActivation } from './region-activation.js';
import { activeView, inactiveView, replicationMetrics } from './region-report.js';
import { RegionStateFile } from './region-state.js';

export interface RegionAdminContext {
  replication: ReplicationConfig;
  dataDir: string;
  /** The region activation of the current term, while active. */
  current(): RegionActivation | undefined;
  ha(): HaStatus;
  holder(): Promise<HaLockHolder | undefined>;
}

type RegionSource = Required<Pick<AdminSource, 'replication' | 'replicationMetrics' | 'regionHealth' | 'promote'>>;

export function regionAdminSource(context: RegionAdminContext): RegionSource {
  const file = new RegionStateFile(context.dataDir);
  const active = (): RegionActivation | undefined => (context.ha().role === 'active' ? context.current() : undefined);
  const view = async () => {
    const region = active();
    if (region !== undefined && region.state !== undefined) return activeView(region);
    const state = await file.read().catch(() => undefined);
    return inactiveView(context.replication, state, context.ha().role, context.dataDir);
  };
  return {
    replication: view,
    replicationMetrics: async () => replicationMetrics(active(), await view()),
    regionHealth: () => {
      const region = active();
      const phase = region?.phase ?? context.ha().role;
      const healthy =
        (phase === 'primary' && region?.running !== undefined) || (phase === 'replica' && region?.receiver !== undefined);
      return {
        healthy,
        region: { name: context.replication.region, role: region?.state?.role ?? 'unknown', state: phase, generation: region?.state?.generation ?? null },
      };
    },
    promote: async (request: PromoteRequest) => {
      const region = active();
      if (region === undefined) {
        const holder = await context.holder().catch(() => undefined);
        const who = holder === undefined ? 'the active broker of this region' : `the active broker (${holder.host} pid ${holder.pid}, epoch ${holder.epoch})`;
        throw new BrokerError('TANDEM_ERR_NOT_ACTIVE', `This broker is ${context.ha().role}; promote on ${who}`);
      }
      return promote(region, request);
    },
  };
}
