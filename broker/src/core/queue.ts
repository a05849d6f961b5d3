// A queue: point-to-point, each message to one consumer, round-robin over those with room, with
// message groups. Persistent copies are stored under the queue's name; temporary queues never are.
import { Channel } from './channel.js';
import type { CoreContext } from './context.js';
import type { Destination } from './destination.js';
import { MessageGroups } from './groups.js';

export class Queue extends Channel {
  constructor(ctx: CoreContext, destination: Destination) {
    super(ctx, destination.name, destination.kind, destination.kind === 'queue' ? destination.name : null, true);
    this.groups = new MessageGroups();
  }

  /** Deliveries name the queue, also for a virtual-topic consumer queue fed from a topic. */
  deliveryDestination(): string {
    return this.name;
  }
}
