// durable-subscription-add: a durable subscription exists (or its info changed).
//   string clientId | string name | string destination | u8 flags (1 = selector, 2 = noLocal
//   present, 4 = noLocal value) | [string selector]
import { RecordType } from '../constants.js';
import { RecordFormatError, stringSize } from './fields.js';
import type { DurableSubscriptionAddRecord, RecordCodec } from './record-types.js';
import type { DurableSubscriptionInfo } from '../../store/types.js';

const HAS_SELECTOR = 1;
const HAS_NO_LOCAL = 2;
const NO_LOCAL = 4;

export const durableSubscriptionAddCodec: RecordCodec<DurableSubscriptionAddRecord> = {
  typeId: RecordType.DurableSubscriptionAdd,
  name: 'durable-subscription-add',
  size: ({ info }) =>
    stringSize(info.clientId) + stringSize(info.name) + stringSize(info.destination) + 1 +
    (info.selector === undefined ? 0 : stringSize(info.selector)),
  write({ info }, out) {
    out.string(info.clientId);
    out.string(info.name);
    out.string(info.destination);
    out.u8(
      (info.selector === undefined ? 0 : HAS_SELECTOR) |
        (info.noLocal === undefined ? 0 : HAS_NO_LOCAL) |
        (info.noLocal === true ? NO_LOCAL : 0),
    );
    if (info.selector !== undefined) out.string(info.selector);
  },
  read(input) {
    const clientId = input.string();
    const name = input.string();
    const destination = input.string();
    const flags = input.u8();
    if (flags & ~(HAS_SELECTOR | HAS_NO_LOCAL | NO_LOCAL)) throw new RecordFormatError(`unknown flags ${flags}`);
    const info: DurableSubscriptionInfo = { clientId, name, destination };
    if (flags & HAS_SELECTOR) info.selector = input.string();
    if (flags & HAS_NO_LOCAL) info.noLocal = (flags & NO_LOCAL) !== 0;
    input.finish('durable-subscription-add');
    return { type: 'durable-subscription-add', info };
  },
};
