// transaction-rollback: discard the transaction's records.  u64 txId
import { RecordType } from '../constants.js';
import type { RecordCodec, TransactionRollbackRecord } from './record-types.js';

export const transactionRollbackCodec: RecordCodec<TransactionRollbackRecord> = {
  typeId: RecordType.TransactionRollback,
  name: 'transaction-rollback',
  size: () => 8,
  write(r, out) {
    out.u64(r.txId);
  },
  read(input) {
    const txId = input.u64();
    input.finish('transaction-rollback');
    return { type: 'transaction-rollback', txId };
  },
};
