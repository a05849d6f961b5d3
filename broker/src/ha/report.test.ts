// What GET /health and GET /role answer for each role.
import { expect } from 'chai';
import { healthReport, roleReport } from './report.js';
import { ROLES } from './role.js';

describe('HA admin reports', function () {
  const expected = { standby: 503, activating: 503, active: 200, fenced: 503, stopped: 503 } as const;
  for (const role of ROLES) {
    it(`GET /health answers ${expected[role]} for ${role}, naming the role`, function () {
      const report = healthReport({ role, since: 0, reason: 'x' });
      expect(report.httpStatus).to.equal(expected[role]);
      expect(report.body.role).to.equal(role);
      expect(report.body.status).to.equal(expected[role] === 200 ? 'ok' : role);
    });
  }

  it('GET /role gives times in ISO 8601, the epoch, the last loss and the holder', function () {
    const report = roleReport(
      {
        role: 'standby',
        since: Date.UTC(2024, 0, 2, 3, 4, 5),
        reason: 'fenced; contending for the lock again',
        epoch: 3,
        lastLoss: { reason: 'replaced', detail: 'another holder', epoch: 3 },
      },
      { host: 'broker-b', pid: 99, epoch: 4, acquiredAt: Date.UTC(2024, 0, 2, 3, 4, 6) },
    );
    expect(report).to.deep.equal({
      role: 'standby',
      since: '2024-01-02T03:04:05.000Z',
      reason: 'fenced; contending for the lock again',
      epoch: 3,
      lastLoss: { reason: 'replaced', detail: 'another holder', epoch: 3 },
      holder: { host: 'broker-b', pid: 99, epoch: 4, acquiredAt: '2024-01-02T03:04:06.000Z' },
    });
  });

  it('GET /role leaves out what is not known', function () {
    expect(roleReport({ role: 'standby', since: 0, reason: 'not started' })).to.deep.equal({
      role: 'standby',
      since: '1970-01-01T00:00:00.000Z',
      reason: 'not started',
    });
  });
});
