// message-add: a message and the targets that must each acknowledge it.
//   u64 txId | u64 seq | string id | string destination | u8 priority | u64 expires
//   | u64 timestamp | u8 flags (1 = producerId, 2 = producerSeq) | [string producerId]
//   | [u64 producerSeq] | u32 targetCount, string* | u32 headerCount, (string, string)* | bytes body
import { RecordType } from '../constants.js';
import { RecordFormatError, stringSize, type FieldReader } from './fields.js';
import type { MessageAddRecord, RecordCodec } from './record-types.js';
import type { StoredMessage } from '../../store/types.js';

const HAS_PRODUCER_ID = 1;
const HAS_PRODUCER_SEQ = 2;

export const messageAddCodec: RecordCodec<MessageAddRecord> = {
  typeId: RecordType.MessageAdd,
  name: 'message-add',

  size({ message: m }) {
    let n = 8 + 8 + stringSize(m.id) + stringSize(m.destination) + 1 + 8 + 8 + 1;
    if (m.producerId !== undefined) n += stringSize(m.producerId);
    if (m.producerSeq !== undefined) n += 8;
    n += 4;
    for (const t of m.targets) n += stringSize(t);
    n += 4;
    for (const key in m.headers) n += stringSize(key) + stringSize(m.headers[key]!);
    return n + 4 + m.body.length;
  },

  write({ txId, message: m }, out) {
    out.u64(txId);
    out.u64(m.seq);
    out.string(m.id);
    out.string(m.destination);
    out.u8(m.priority);
    out.u64(m.expires);
    out.u64(m.timestamp);
    out.u8((m.producerId === undefined ? 0 : HAS_PRODUCER_ID) | (m.producerSeq === undefined ? 0 : HAS_PRODUCER_SEQ));
    if (m.producerId !== undefined) out.string(m.producerId);
    if (m.producerSeq !== undefined) out.u64(m.producerSeq);
    out.u32(m.targets.length);
    for (const t of m.targets) out.string(t);
    const keyCountAt = out.pos;
    out.u32(0);
    let keys = 0;
    for (const key in m.headers) {
      out.string(key);
      out.string(m.headers[key]!);
      keys++;
    }
    out.buf.writeUInt32BE(keys, keyCountAt);
    out.bytes(m.body);
  },

  read(input: FieldReader): MessageAddRecord {
    const txId = input.u64();
    const seq = input.u64();
    const id = input.string();
    const destination = input.string();
    const priority = input.u8();
    if (priority > 9) throw new RecordFormatError(`priority ${priority} out of range`);
    const expires = input.u64();
    const timestamp = input.u64();
    const flags = input.u8();
    if (flags & ~(HAS_PRODUCER_ID | HAS_PRODUCER_SEQ)) throw new RecordFormatError(`unknown flags ${flags}`);
    const producerId = flags & HAS_PRODUCER_ID ? input.string() : undefined;
    const producerSeq = flags & HAS_PRODUCER_SEQ ? input.u64() : undefined;
    const targets: string[] = [];
    for (let n = input.u32(); n > 0; n--) targets.push(input.string());
    const pairs: Array<[string, string]> = [];
    for (let n = input.u32(); n > 0; n--) pairs.push([input.string(), input.string()]);
    // fromEntries defines own properties, so a header named "__proto__" stays a header.
    const headers: Record<string, string> = Object.fromEntries(pairs);
    const body = input.bytes();
    input.finish('message-add');
    const message: StoredMessage = { seq, id, destination, headers, body, priority, expires, timestamp, targets };
    if (producerId !== undefined) message.producerId = producerId;
    if (producerSeq !== undefined) message.producerSeq = producerSeq;
    return { type: 'message-add', txId, message };
  },
};

