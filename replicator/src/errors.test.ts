// The registry: each code makes an error of the right class, status and message, and every code
// is documented in docs/errors.md.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TandemError } from '@tandem-mq/shared-store';
import { ReplicationError, ReplicationErrors, isReplicationErrorCode, replicationErrorCodes } from './errors.js';

const ERRORS_DOC = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));

describe('replication errors', function () {
  it('carries its code, HTTP status and message, and reads as JSON for the admin API', function () {
    const error = new ReplicationError('TANDEM_ERR_REPLICATION_AUTH', 'wrong token');
    expect(error).to.be.instanceOf(TandemError);
    expect(error.name).to.equal('ReplicationError');
    expect(error.code).to.equal('TANDEM_ERR_REPLICATION_AUTH');
    expect(error.httpStatus).to.equal(401);
    expect(error.fatal).to.equal(true);
    expect(error.toJSON()).to.deep.equal({ error: { code: 'TANDEM_ERR_REPLICATION_AUTH', message: 'wrong token' } });
    expect(new ReplicationError('TANDEM_ERR_REPLICATION_BUSY', 'x').fatal).to.equal(false);
  });

  it('recognises its own codes only', function () {
    expect(isReplicationErrorCode('TANDEM_ERR_REPLICATION_IO')).to.equal(true);
    expect(isReplicationErrorCode('TANDEM_ERR_FENCED')).to.equal(false);
    expect(isReplicationErrorCode('toString')).to.equal(false);
  });

  it('documents every code in docs/errors.md under Replication', function () {
    const doc = readFileSync(ERRORS_DOC, 'utf8');
    const section = doc.slice(doc.indexOf('## Replication'));
    expect(doc.includes('## Replication'), 'a Replication section').to.equal(true);
    const codes = replicationErrorCodes();
    expect(codes.length).to.equal(Object.keys(ReplicationErrors).length);
    const missing = codes.filter((code) => !new RegExp(`\\b${code}\\b`).test(section));
    expect(missing, 'codes missing from docs/errors.md').to.deep.equal([]);
  });
});
