// The error registry: stable TANDEM_ERR_* codes, each error carrying its code, message and (for
// broker errors) the broker's own code.
import { expect } from 'chai';
import { clientError, FailoverClientError, failoverErrorCodes, FailoverErrors } from './errors.js';
import { brokerError } from './connection.js';

describe('failover client errors', function () {
  it('names every code TANDEM_ERR_* with a description', function () {
    for (const code of failoverErrorCodes()) {
      expect(code).to.match(/^TANDEM_ERR_[A-Z_]+$/);
      expect(FailoverErrors[code].length).to.be.greaterThan(10);
    }
    expect(failoverErrorCodes()).to.include.members(['TANDEM_ERR_FAILOVER_URI_INVALID', 'TANDEM_ERR_TRANSACTION_ROLLED_BACK']);
  });

  it('builds errors with class, code and message', function () {
    const error = clientError('TANDEM_ERR_TIMEOUT', 'slow');
    expect(error).to.be.instanceOf(FailoverClientError).and.instanceOf(Error);
    expect(error).to.include({ name: 'FailoverClientError', code: 'TANDEM_ERR_TIMEOUT', message: 'slow', brokerCode: undefined });
  });

  it("turns an ERROR frame into TANDEM_ERR_BROKER_ERROR keeping the broker's code and first body line", function () {
    const error = brokerError({
      command: 'ERROR',
      headers: [['message', 'no such destination'], ['code', 'TANDEM_ERR_INVALID_DESTINATION']],
      body: Buffer.from('destination /queue/ is empty\nmore'),
    });
    expect(error.code).to.equal('TANDEM_ERR_BROKER_ERROR');
    expect(error.brokerCode).to.equal('TANDEM_ERR_INVALID_DESTINATION');
    expect(error.message).to.equal('broker error TANDEM_ERR_INVALID_DESTINATION: no such destination: destination /queue/ is empty');
  });
});
