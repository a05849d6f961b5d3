// The region's role on disk: `region.json` in the data directory, read by whichever broker of the
// pair becomes active. Each region keeps its own; promotions travel on the link. Replaced
// atomically (temporary file, fdatasync, rename, directory fsync), so a crash leaves the old state
// or the new one.
import { join } from 'node:path';
import { nodeFileIO, readWholeFile, replaceFile, type FileIO } from '@tandem-mq/shared-store';
import { describePosition, type Position, type Promotion, type PromotionMode } from '@tandem-mq/replicator';
import type { RegionRole, ReplicationConfig } from '../config/replication.js';
import { BrokerError } from '../errors.js';

export const REGION_FILE_NAME = 'region.json';
const REGION_FILE_VERSION = 1;

/** A promotion as region.json and GET /replication show it: times as ISO strings. */
export interface HistoryEntry {
  generation: number;
  mode: PromotionMode;
  at: string;
  promotedRegion: string;
  endOfPrevious: { segment: number; offset: number; journalOffset: number };
  rpoTime?: string;
  lostUnknown?: boolean;
}

export interface RegionState {
  version: number;
  region: string;
  role: RegionRole;
  /** 1 on a fresh region; +1 at every promotion. */
  generation: number;
  counterpart: string;
  history: HistoryEntry[];
  /** Set while a rejoin is under way: the journal is cut back here before the receiver starts. */
  rejoinAt?: Position;
}

export function initialRegionState(config: ReplicationConfig): RegionState {
  return { version: REGION_FILE_VERSION, region: config.region, role: config.initialRole, generation: 1, counterpart: config.counterpart.region, history: [] };
}

export function historyEntry(p: Promotion): HistoryEntry {
  const entry: HistoryEntry = {
    generation: p.generation,
    mode: p.mode,
    at: new Date(p.at).toISOString(),
    promotedRegion: p.promotedRegion,
    endOfPrevious: describePosition(p.endOfPrevious),
  };
  if (p.rpoTime !== undefined) entry.rpoTime = new Date(p.rpoTime).toISOString();
  if (p.lostUnknown === true) entry.lostUnknown = true;
  return entry;
}

export function promotionOf(entry: HistoryEntry): Promotion {
  const p: Promotion = {
    generation: entry.generation,
    mode: entry.mode,
    at: Date.parse(entry.at),
    promotedRegion: entry.promotedRegion,
    endOfPrevious: { segment: entry.endOfPrevious.segment, offset: entry.endOfPrevious.offset },
  };
  if (entry.rpoTime !== undefined) p.rpoTime = Date.parse(entry.rpoTime);
  if (entry.lostUnknown === true) p.lostUnknown = true;
  return p;
}

/** The promotion that ended `generation`: the first one after it, if this region knows it. */
export function promotionAfter(state: RegionState, generation: number): Promotion | undefined {
  const entry = state.history.find((e) => e.generation > generation);
  return entry === undefined ? undefined : promotionOf(entry);
}

export class RegionStateFile {
  private readonly path: string;

  constructor(
    private readonly dir: string,
    private readonly io: FileIO = nodeFileIO,
  ) {
    this.path = join(dir, REGION_FILE_NAME);
  }

  /** The stored state, or undefined when the directory has none yet. */
  async read(): Promise<RegionState | undefined> {
    if ((await this.io.stat(this.path)) === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse((await readWholeFile(this.io, this.path)).toString('utf8'));
    } catch (cause) {
      throw new BrokerError('TANDEM_ERR_REGION_STATE', `${this.path} cannot be read: ${(cause as Error).message}`, { cause });
    }
    const problem = invalid(value);
    if (problem !== undefined) throw new BrokerError('TANDEM_ERR_REGION_STATE', `${this.path} is not valid region state: ${problem}`);
    return value as RegionState;
  }

  /** Replaces the stored state; resolves once the new one survives a crash. */
  async write(state: RegionState): Promise<void> {
    await this.io.mkdir(this.dir);
    await replaceFile(this.io, this.dir, this.path, Buffer.from(JSON.stringify(state, null, 2) + '\n'));
  }
}

function invalid(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'not a JSON object';
  const s = value as Partial<RegionState>;
  if (s.version !== REGION_FILE_VERSION) return `version ${String(s.version)} (expected ${REGION_FILE_VERSION})`;
  if (typeof s.region !== 'string' || s.region === '') return 'no region';
  if (s.role !== 'primary' && s.role !== 'replica') return `role ${String(s.role)}`;
  if (!Number.isSafeInteger(s.generation) || s.generation! < 1) return `generation ${String(s.generation)}`;
  if (!Array.isArray(s.history)) return 'no history';
  return undefined;
}
