// `tandem promote` as a child process against a stand-in admin API on 127.0.0.1: the request it
// makes, the JSON and summary it prints, an error answer's code and message (exit 1), and a bad
// flag named on the command line (exit 2).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function tandem(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('tandem promote', function () {
  this.timeout(20000);
  let server: http.Server;
  let port: number;
  let requests: Array<{ method: string; url: string; body: string }>;
  let answer: { status: number; body: unknown };

  beforeEach(async () => {
    requests = [];
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (t: string) => (body += t));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts the mode, prints the result and a summary with the RPO, and exits 0', async () => {
    const rpo = { position: { segment: 0, offset: 4096, journalOffset: 4096 }, time: '2026-01-01T00:00:00.000Z', lostUnknown: true };
    answer = { status: 200, body: { mode: 'FAILOVER', region: 'us-west-2', generation: 2, rpo, tookMs: 120 } };
    const result = await tandem(['promote', '--mode', 'failover', '--admin', `http://127.0.0.1:${port}`]);
    expect(result.code, result.stderr).to.equal(0);
    expect(requests).to.deep.equal([{ method: 'POST', url: '/promote', body: '{"mode":"FAILOVER"}' }]);
    expect(JSON.parse(result.stdout.slice(0, result.stdout.lastIndexOf('}') + 1))).to.deep.equal(answer.body);
    expect(result.stdout).to.contain('region us-west-2 is primary at generation 2 (FAILOVER, 120 ms): replicated up to 0+4096');
  });

  it('prints the code and message of an error answer and exits 1', async () => {
    answer = { status: 409, body: { error: { code: 'TANDEM_ERR_PROMOTE_NO_LINK', message: 'no primary is connected' } } };
    const result = await tandem(['promote', '--mode', 'switchover', '--admin', `http://127.0.0.1:${port}`, '--timeout', '5000']);
    expect(result.code).to.equal(1);
    expect(requests[0]!.body).to.equal('{"mode":"SWITCHOVER","timeoutMs":5000}');
    expect(result.stderr).to.contain('TANDEM_ERR_PROMOTE_NO_LINK: no primary is connected');
  });

  it('names a bad flag and exits 2 without calling anyone', async () => {
    for (const [args, fragment] of [
      [['--mode', 'sideways', '--admin', `http://127.0.0.1:${port}`], '--mode must be switchover or failover'],
      [['--mode', 'failover'], '--admin URL is required'],
      [['--mode', 'failover', '--admin', 'not a url'], '--admin must be a URL'],
      [['--mode', 'failover', '--admin', `http://127.0.0.1:${port}`, '--force'], "Unknown option '--force'"],
    ] as const) {
      const result = await tandem(['promote', ...args]);
      expect(result.code, args.join(' ')).to.equal(2);
      expect(result.stderr).to.contain(fragment);
    }
    expect(requests).to.deep.equal([]);
  });
});
