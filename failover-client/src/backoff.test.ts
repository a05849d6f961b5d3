// The reconnect delay schedule: ActiveMQ's exponential growth and cap, and jitter bounds.
import { expect } from 'chai';
import { baseDelay, reconnectDelay, type BackoffOptions } from './backoff.js';

const ACTIVEMQ: BackoffOptions = { initialReconnectDelay: 10, maxReconnectDelay: 30000, useExponentialBackOff: true, reconnectDelayExponent: 2, jitter: 0 };

describe('reconnect back-off', function () {
  it('doubles from initialReconnectDelay with the default exponent and stops at maxReconnectDelay', function () {
    const sequence = Array.from({ length: 14 }, (_, i) => baseDelay(i + 1, ACTIVEMQ));
    expect(sequence).to.deep.equal([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 30000, 30000]);
  });

  it('uses reconnectDelayExponent as the factor', function () {
    const options = { ...ACTIVEMQ, initialReconnectDelay: 100, reconnectDelayExponent: 1.5, maxReconnectDelay: 1000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => baseDelay(n, options))).to.deep.equal([100, 150, 225, 337.5, 506.25, 759.375, 1000]);
  });

  it('stays at initialReconnectDelay when useExponentialBackOff is false', function () {
    const options = { ...ACTIVEMQ, useExponentialBackOff: false, initialReconnectDelay: 250 };
    expect([1, 2, 10].map((n) => baseDelay(n, options))).to.deep.equal([250, 250, 250]);
  });

  it('caps initialReconnectDelay itself at maxReconnectDelay', function () {
    expect(baseDelay(1, { ...ACTIVEMQ, initialReconnectDelay: 500, maxReconnectDelay: 200 })).to.equal(200);
  });

  it('gives no delay before the first pass (attempt 0)', function () {
    expect(baseDelay(0, ACTIVEMQ)).to.equal(0);
  });

  it('without jitter returns the base delay for any random value', function () {
    expect(reconnectDelay(3, ACTIVEMQ, () => 0.999)).to.equal(40);
  });

  it('spreads the delay by the jitter fraction either way', function () {
    const options = { ...ACTIVEMQ, initialReconnectDelay: 1000, jitter: 0.2 };
    expect(reconnectDelay(1, options, () => 0)).to.equal(800);
    expect(reconnectDelay(1, options, () => 0.5)).to.equal(1000);
    expect(reconnectDelay(1, options, () => 0.9999)).to.equal(1200);
  });

  it('never exceeds maxReconnectDelay even with jitter', function () {
    const options = { ...ACTIVEMQ, jitter: 0.5 };
    expect(reconnectDelay(20, options, () => 0.9999)).to.equal(30000);
    expect(reconnectDelay(20, options, () => 0)).to.equal(15000);
  });
});
