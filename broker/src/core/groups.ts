// Message groups (JMSXGroupID): every message of a group goes to one consumer of the queue until
// that consumer leaves or a message with JMSXGroupSeq -1 closes the group; then it is reassigned.
import type { Subscription } from './subscription.js';

export class MessageGroups {
  private readonly owners = new Map<string, Subscription>();

  owner(groupId: string): Subscription | undefined {
    return this.owners.get(groupId);
  }

  assign(groupId: string, subscription: Subscription): void {
    this.owners.set(groupId, subscription);
  }

  close(groupId: string): void {
    this.owners.delete(groupId);
  }

  /** Frees every group the consumer held, so the next message of each picks a new owner. */
  release(subscription: Subscription): void {
    for (const [groupId, owner] of this.owners) {
      if (owner === subscription) this.owners.delete(groupId);
    }
  }

  get size(): number {
    return this.owners.size;
  }
}
