// transaction-commit: apply the transaction's records; without it recovery drops them.
//   u64 txId | u32 records (how many tagged records the transaction wrote)
import { RecordType } from '../constants.js';
import type { RecordCodec, TransactionCommitRecord } from './record-types.js';

export const transactionCommitCodec: RecordCodec<TransactionCommitRecord> = {
  typeId: RecordType.TransactionCommit,
  name: 'transaction-commit',
  size: () => 12,
  write(r, out) {
    out.u64(r.txId);
    out.u32(r.records);
  },
  read(input) {
    const txId = input.u64();
    const records = input.u32();
    input.finish('transaction-commit');
    return { type: 'transaction-commit', txId, records };
  },
};
