// Every error code the broker can emit is documented in docs/errors.md.
import { expect } from 'chai';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { allErrorCodes } from '@tandem-mq/broker';
import { failoverErrorCodes } from '@tandem-mq/failover-client';

const ERRORS_DOC = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));

describe('docs/errors.md', function () {
  it('exists', function () {
    expect(fs.existsSync(ERRORS_DOC), `${ERRORS_DOC} is missing`).to.equal(true);
  });

  it('lists every code from allErrorCodes()', function () {
    const doc = fs.existsSync(ERRORS_DOC) ? fs.readFileSync(ERRORS_DOC, 'utf8') : '';
    const codes = allErrorCodes();
    expect(codes.length).to.be.greaterThan(0);
    const missing = codes.filter((code) => !new RegExp(`\\b${code}\\b`).test(doc));
    expect(missing, 'codes missing from docs/errors.md').to.deep.equal([]);
  });

  it('lists every code of the failover client', function () {
    const doc = fs.readFileSync(ERRORS_DOC, 'utf8');
    const missing = failoverErrorCodes().filter((code) => !new RegExp(`\\b${code}\\b`).test(doc));
    expect(missing, 'failover client codes missing from docs/errors.md').to.deep.equal([]);
  });
});
