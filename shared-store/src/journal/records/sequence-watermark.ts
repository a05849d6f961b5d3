// sequence-watermark: the next message seq to assign, written when old segments are deleted so a
// restart never hands out a seq again.  u64 nextSeq
import { RecordType } from '../constants.js';
import type { RecordCodec, SequenceWatermarkRecord } from './record-types.js';

export const sequenceWatermarkCodec: RecordCodec<SequenceWatermarkRecord> = {
  typeId: RecordType.SequenceWatermark,
  name: 'sequence-watermark',
  size: () => 8,
  write(r, out) {
    out.u64(r.nextSeq);
  },
  read(input) {
    const nextSeq = input.u64();
    input.finish('sequence-watermark');
    return { type: 'sequence-watermark', nextSeq };
  },
};
