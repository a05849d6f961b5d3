// Redelivery and dead-letter policies, with ActiveMQ's defaults (RedeliveryPolicy, DeadLetterStrategy).

export interface RedeliveryPolicy {
  /** Deliveries after the first before the message goes to the dead-letter queue; -1 for unlimited. ActiveMQ default 6. */
  maximumRedeliveries: number;
  /** Delay before the first redelivery, ms. ActiveMQ default 1000. */
  initialRedeliveryDelay: number;
  /** Delay for later redeliveries when back-off is off, ms. ActiveMQ default 1000. */
  redeliveryDelay: number;
  /** ActiveMQ default false. */
  useExponentialBackOff: boolean;
  /** ActiveMQ default 5. */
  backOffMultiplier: number;
  /** Upper bound on the delay, ms; -1 for none. ActiveMQ default -1. */
  maximumRedeliveryDelay: number;
}

export const DEFAULT_REDELIVERY_POLICY: RedeliveryPolicy = {
  maximumRedeliveries: 6,
  initialRedeliveryDelay: 1000,
  redeliveryDelay: 1000,
  useExponentialBackOff: false,
  backOffMultiplier: 5,
  maximumRedeliveryDelay: -1,
};

export interface DeadLetterRule {
  /** Canonical destination prefix, e.g. "/queue/orders.". */
  prefix: string;
  /** The dead-letter queue's name (without /queue/), e.g. "DLQ.orders". */
  queue: string;
}

export interface DeadLetterPolicy {
  /** ActiveMQ default "ActiveMQ.DLQ". */
  defaultQueue: string;
  /** First matching prefix wins. */
  rules: DeadLetterRule[];
  /** Send expired messages to the dead-letter queue (ActiveMQ's processExpired, default true). */
  processExpired: boolean;
}

export const DEFAULT_DEAD_LETTER_POLICY: DeadLetterPolicy = {
  defaultQueue: 'ActiveMQ.DLQ',
  rules: [],
  processExpired: true,
};
