// Transactions (STOMP BEGIN/COMMIT/ABORT): sends and acks are held until COMMIT applies them in one
// atomic store commit; ABORT discards the sends and hands acknowledged messages back redelivered.
import type { TransactionOp } from '@tandem-mq/shared-store';
import { BrokerError } from '../errors.js';
import type { Destination } from './destination.js';
import { toStoredMessage } from './message.js';
import type { PreparedSend, Router } from './router.js';
import type { InFlight } from './subscription.js';
import type { CoreContext } from './context.js';
import type { SendRequest } from './types.js';

export class Transaction {
  readonly sends: Array<{ destination: Destination; request: SendRequest }> = [];
  readonly acks: InFlight[] = [];
  readonly nacks: InFlight[] = [];

  constructor(readonly id: string) {}
}

export class TransactionTable {
  private readonly open = new Map<string, Transaction>();

  begin(id: string): void {
    if (this.open.has(id)) throw new BrokerError('TANDEM_ERR_DUPLICATE_TRANSACTION', `transaction "${id}" has already begun`);
    this.open.set(id, new Transaction(id));
  }

  get(id: string): Transaction {
    const transaction = this.open.get(id);
    if (transaction === undefined) throw new BrokerError('TANDEM_ERR_UNKNOWN_TRANSACTION', `no open transaction "${id}"`);
    return transaction;
  }

  /** Removes the transaction from the table (COMMIT and ABORT both end it). */
  take(id: string): Transaction {
    const transaction = this.get(id);
    this.open.delete(id);
    return transaction;
  }

  takeAll(): Transaction[] {
    const all = [...this.open.values()];
    this.open.clear();
    return all;
  }
}

export async function commitTransaction(ctx: CoreContext, router: Router, origin: string, transaction: Transaction): Promise<void> {
  const prepared: PreparedSend[] = [];
  for (const { destination, request } of transaction.sends) {
    if (!router.isDuplicate(request)) prepared.push(router.prepare(origin, destination, request));
  }
  const ops: TransactionOp[] = [];
  for (const send of prepared) {
    if (send.targets.length === 0) continue;
    router.preMark(send);
    ops.push({ op: 'add', message: toStoredMessage(send.data, send.targets) });
  }
  for (const { entry, channel } of transaction.acks) {
    if (entry.stored) ops.push({ op: 'ack', target: channel.target!, seq: entry.data.seq });
  }
  if (ops.length > 0) {
    try {
      await ctx.store.commit(ops);
    } catch (error) {
      // Nothing of the transaction happened; its consumed messages go back as after an ABORT.
      abortTransaction(transaction);
      throw error;
    }
  }
  for (const send of prepared) router.publish(send);
  for (const { channel } of transaction.acks) channel.settle();
  for (const { entry, channel } of transaction.nacks) channel.release(entry, 'nack');
}

export function abortTransaction(transaction: Transaction): void {
  for (const { entry, channel } of transaction.acks) channel.release(entry, 'abort');
  for (const { entry, channel } of transaction.nacks) channel.release(entry, 'abort');
}
