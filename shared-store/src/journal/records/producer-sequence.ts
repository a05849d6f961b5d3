// producer-sequence: the highest sequence a producer reached, carried forward by the reclaimer
// when the message that recorded it is deleted.  string producerId | u64 producerSeq
import { RecordType } from '../constants.js';
import { stringSize } from './fields.js';
import type { ProducerSequenceRecord, RecordCodec } from './record-types.js';

export const producerSequenceCodec: RecordCodec<ProducerSequenceRecord> = {
  typeId: RecordType.ProducerSequence,
  name: 'producer-sequence',
  size: (r) => stringSize(r.producerId) + 8,
  write(r, out) {
    out.string(r.producerId);
    out.u64(r.producerSeq);
  },
  read(input) {
    const producerId = input.string();
    const producerSeq = input.u64();
    input.finish('producer-sequence');
    return { type: 'producer-sequence', producerId, producerSeq };
  },
};
