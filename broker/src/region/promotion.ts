// POST /promote on the replica region's active broker. SWITCHOVER puts consistency first: the
// primary drains (stops client traffic, closes its store, ships its last bytes), this replica holds
// all of it, then becomes primary and the old one its replica. FAILOVER puts availability first:
// this replica becomes primary at once with what it holds, recording where that ends and when the
// primary first saw its last record (the RPO).
import { DrainError, describePosition, type Promotion, type PromotionMode } from '@tandem-mq/replicator';
import { BrokerError } from '../errors.js';
import type { RegionActivation } from './region-activation.js';

export const PROMOTE_MODES: readonly PromotionMode[] = ['SWITCHOVER', 'FAILOVER'];
/** How long a switchover waits for the primary to drain, unless the request says otherwise. */
export const DEFAULT_SWITCHOVER_TIMEOUT_MS = 30_000;

export interface PromoteRequest {
  mode: PromotionMode;
  timeoutMs?: number;
}

export interface PromoteResult {
  mode: PromotionMode;
  region: string;
  generation: number;
  /** Where the previous generation's data ends in this region's journal. */
  endOfPrevious: ReturnType<typeof describePosition>;
  /** FAILOVER: the last replicated position and when the old primary first saw its last record. */
  rpo?: { position: ReturnType<typeof describePosition>; time: string | null; lostUnknown: boolean };
  tookMs: number;
}

export async function promote(region: RegionActivation, request: PromoteRequest): Promise<PromoteResult> {
  const name = region.region.region;
  if (region.phase === 'primary' || region.phase === 'draining' || region.phase === 'drained') {
    throw new BrokerError('TANDEM_ERR_PROMOTE_NOT_REPLICA', `region ${name} is already primary (generation ${region.state?.generation}); promote the replica region's active broker instead`);
  }
  if (region.phase !== 'replica' || region.receiver === undefined) {
    throw new BrokerError('TANDEM_ERR_PROMOTE_BUSY', `region ${name} cannot be promoted while ${region.phase}; try again once GET /replication says receiving or waiting-for-link`);
  }
  const receiver = region.receiver;
  if (request.mode === 'SWITCHOVER' && !receiver.linked) {
    throw new BrokerError(
      'TANDEM_ERR_PROMOTE_NO_LINK',
      `a switchover needs the primary region connected, and no primary is connected to ${name}; restore the link, or promote with FAILOVER (which may lose what was not replicated)`,
    );
  }
  const started = Date.now();
  region.phase = 'promoting';
  return region.serial(async () => {
    const generation = region.state!.generation + 1;
    let promotion: Promotion;
    if (request.mode === 'SWITCHOVER') {
      let end;
      try {
        end = await receiver.requestDrain(request.timeoutMs ?? DEFAULT_SWITCHOVER_TIMEOUT_MS);
      } catch (error) {
        if (region.phase === 'promoting') region.phase = 'replica';
        throw drainFailure(error);
      }
      await receiver.freeze();
      promotion = { generation, mode: 'SWITCHOVER', at: Date.now(), promotedRegion: name, endOfPrevious: end };
    } else {
      const linked = receiver.linked;
      const { position, observedAt } = await receiver.freeze();
      promotion = { generation, mode: 'FAILOVER', at: Date.now(), promotedRegion: name, endOfPrevious: position };
      if (observedAt !== undefined) promotion.rpoTime = observedAt;
      if (!linked) promotion.lostUnknown = true;
    }
    await region.becomePrimary(promotion);
    const result: PromoteResult = {
      mode: request.mode,
      region: name,
      generation,
      endOfPrevious: describePosition(promotion.endOfPrevious),
      tookMs: Date.now() - started,
    };
    if (request.mode === 'FAILOVER') {
      result.rpo = {
        position: describePosition(promotion.endOfPrevious),
        time: promotion.rpoTime === undefined ? null : new Date(promotion.rpoTime).toISOString(),
        lostUnknown: promotion.lostUnknown === true,
      };
    }
    return result;
  });
}

function drainFailure(error: unknown): BrokerError {
  if (error instanceof DrainError) {
    if (error.reason === 'timeout') {
      return new BrokerError('TANDEM_ERR_PROMOTE_TIMEOUT', `switchover abandoned: ${error.message}; the primary resumes serving`);
    }
    return new BrokerError('TANDEM_ERR_PROMOTE_NO_LINK', `switchover abandoned: ${error.message}; the primary resumes serving once it reconnects`);
  }
  return new BrokerError('TANDEM_ERR_INTERNAL', `switchover failed: ${(error as Error).message}`, { cause: error });
}
