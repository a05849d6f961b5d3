// The HA role as the admin API shows it: GET /health for probes, GET /role for operators.
import type { HaStatus } from './controller.js';
import type { HaLockHolder } from './ha-lock.js';
import type { Role } from './role.js';

export interface HealthReport {
  httpStatus: number;
  body: { status: 'ok' | Exclude<Role, 'active'>; role: Role };
}

/**
 * 200 only from the active, so a load balancer or a probe that routes clients by status code finds
 * the one broker that serves them; every other role answers 503 with a body naming it, which tells
 * a standby that is waiting as it should (`"role":"standby"`) from one that is fenced or stopping.
 */
export function healthReport(status: HaStatus): HealthReport {
  if (status.role === 'active') return { httpStatus: 200, body: { status: 'ok', role: 'active' } };
  return { httpStatus: 503, body: { status: status.role, role: status.role } };
}

export interface RoleReport {
  role: Role;
  since: string;
  reason: string;
  epoch?: number;
  lastLoss?: { reason: string; detail: string; epoch: number };
  /** Who holds the lock (for a standby: the active it waits behind). */
  holder?: { host: string; pid: number; epoch: number; acquiredAt: string };
}

export function roleReport(status: HaStatus, holder?: HaLockHolder): RoleReport {
  const report: RoleReport = { role: status.role, since: new Date(status.since).toISOString(), reason: status.reason };
  if (status.epoch !== undefined) report.epoch = status.epoch;
  if (status.lastLoss !== undefined) report.lastLoss = { ...status.lastLoss };
  if (holder !== undefined) report.holder = { ...holder, acquiredAt: new Date(holder.acquiredAt).toISOString() };
  return report;
}
