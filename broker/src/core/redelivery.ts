// How long a NACKed message waits before it is offered again, and when it has been tried too often,
// after ActiveMQ's RedeliveryPolicy.
import type { RedeliveryPolicy } from './policies.js';

/** Node turns longer timeouts into 1 ms, so no delay may exceed this (about 24.8 days). */
const LONGEST_TIMER = 2 ** 31 - 1;

/**
 * The delay before redelivery number `count` (1 for the first), in ms: initialRedeliveryDelay, then
 * redeliveryDelay, or with exponential back-off the first delay times backOffMultiplier^(count-1);
 * maximumRedeliveryDelay (when not -1) caps every delay.
 */
export function redeliveryDelay(policy: RedeliveryPolicy, count: number): number {
  let delay: number;
  if (count <= 1) {
    delay = policy.initialRedeliveryDelay;
  } else if (policy.useExponentialBackOff && policy.backOffMultiplier > 1) {
    const base = policy.initialRedeliveryDelay > 0 ? policy.initialRedeliveryDelay : policy.redeliveryDelay;
    delay = base * policy.backOffMultiplier ** (count - 1);
  } else {
    delay = policy.redeliveryDelay;
  }
  if (policy.maximumRedeliveryDelay >= 0) delay = Math.min(delay, policy.maximumRedeliveryDelay);
  return Math.max(0, Math.min(delay, LONGEST_TIMER));
}

/** True when redelivery number `count` would go past the policy's limit (-1 means no limit). */
export function exceedsMaximum(policy: RedeliveryPolicy, count: number): boolean {
  return policy.maximumRedeliveries >= 0 && count > policy.maximumRedeliveries;
}
