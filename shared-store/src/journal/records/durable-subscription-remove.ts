// durable-subscription-remove: the subscription is gone, with its claim on pending messages.
//   string clientId | string name
import { RecordType } from '../constants.js';
import { stringSize } from './fields.js';
import type { DurableSubscriptionRemoveRecord, RecordCodec } from './record-types.js';

export const durableSubscriptionRemoveCodec: RecordCodec<DurableSubscriptionRemoveRecord> = {
  typeId: RecordType.DurableSubscriptionRemove,
  name: 'durable-subscription-remove',
  size: (r) => stringSize(r.clientId) + stringSize(r.name),
  write(r, out) {
    out.string(r.clientId);
    out.string(r.name);
  },
  read(input) {
    const clientId = input.string();
    const name = input.string();
    input.finish('durable-subscription-remove');
    return { type: 'durable-subscription-remove', clientId, name };
  },
};
