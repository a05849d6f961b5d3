// ack: one target acknowledged one message.  u64 txId | u64 seq | string target
import { RecordType } from '../constants.js';
import { stringSize } from './fields.js';
import type { AckRecord, RecordCodec } from './record-types.js';

export const ackCodec: RecordCodec<AckRecord> = {
  typeId: RecordType.Ack,
  name: 'ack',
  size: (r) => 16 + stringSize(r.target),
  write(r, out) {
    out.u64(r.txId);
    out.u64(r.seq);
    out.string(r.target);
  },
  read(input) {
    const txId = input.u64();
    const seq = input.u64();
    const target = input.string();
    input.finish('ack');
    return { type: 'ack', txId, seq, target };
  },
};
