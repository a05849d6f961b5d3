// dispatch-mark: messages up to seq may have been delivered to target; after a restart they are
// flagged redelivered.  u64 seq | string target
import { RecordType } from '../constants.js';
import { stringSize } from './fields.js';
import type { DispatchMarkRecord, RecordCodec } from './record-types.js';

export const dispatchMarkCodec: RecordCodec<DispatchMarkRecord> = {
  typeId: RecordType.DispatchMark,
  name: 'dispatch-mark',
  size: (r) => 8 + stringSize(r.target),
  write(r, out) {
    out.u64(r.seq);
    out.string(r.target);
  },
  read(input) {
    const seq = input.u64();
    const target = input.string();
    input.finish('dispatch-mark');
    return { type: 'dispatch-mark', target, seq };
  },
};
