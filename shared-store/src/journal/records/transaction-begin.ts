// transaction-begin: the records tagged with txId that follow belong to one transaction.  u64 txId
import { RecordType } from '../constants.js';
import type { RecordCodec, TransactionBeginRecord } from './record-types.js';

export const transactionBeginCodec: RecordCodec<TransactionBeginRecord> = {
  typeId: RecordType.TransactionBegin,
  name: 'transaction-begin',
  size: () => 8,
  write(r, out) {
    out.u64(r.txId);
  },
  read(input) {
    const txId = input.u64();
    input.finish('transaction-begin');
    return { type: 'transaction-begin', txId };
  },
};
