// clean-shutdown: the last record of an orderly close.  u64 timestamp (epoch ms)
import { RecordType } from '../constants.js';
import type { CleanShutdownRecord, RecordCodec } from './record-types.js';

export const cleanShutdownCodec: RecordCodec<CleanShutdownRecord> = {
  typeId: RecordType.CleanShutdown,
  name: 'clean-shutdown',
  size: () => 8,
  write(r, out) {
    out.u64(r.timestamp);
  },
  read(input) {
    const timestamp = input.u64();
    input.finish('clean-shutdown');
    return { type: 'clean-shutdown', timestamp };
  },
};
