// epoch: a new writer took over the journal (one per lock acquisition). It is the first record of
// the segment the new epoch starts, and seals the segment before it: bytes past `seal.length` in
// that segment were written by an older epoch after it lost the journal, and recovery ignores them.
//   u64 epoch | string host | u32 pid | u64 timestamp (epoch ms) | u8 flags (1 = seal) |
//   [u64 sealed segment's first offset | u64 its valid length in bytes, header included]
import { RecordType } from '../constants.js';
import { RecordFormatError, stringSize } from './fields.js';
import type { EpochRecord, RecordCodec } from './record-types.js';

const HAS_SEAL = 1;

export const epochCodec: RecordCodec<EpochRecord> = {
  typeId: RecordType.Epoch,
  name: 'epoch',
  size: (r) => 8 + stringSize(r.host) + 4 + 8 + 1 + (r.seal === undefined ? 0 : 16),
  write(r, out) {
    out.u64(r.epoch);
    out.string(r.host);
    out.u32(r.pid);
    out.u64(r.timestamp);
    out.u8(r.seal === undefined ? 0 : HAS_SEAL);
    if (r.seal !== undefined) {
      out.u64(r.seal.segment);
      out.u64(r.seal.length);
    }
  },
  read(input) {
    const epoch = input.u64();
    const host = input.string();
    const pid = input.u32();
    const timestamp = input.u64();
    const flags = input.u8();
    if (flags & ~HAS_SEAL) throw new RecordFormatError(`unknown flags ${flags}`);
    const record: EpochRecord = { type: 'epoch', epoch, host, pid, timestamp };
    if (flags & HAS_SEAL) record.seal = { segment: input.u64(), length: input.u64() };
    input.finish('epoch');
    return record;
  },
};
