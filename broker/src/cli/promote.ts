// `tandem promote --mode switchover|failover --admin URL`: POST /promote on the replica region's
// active broker, then the JSON result and a one-line summary. A bad flag is a usage error (exit 2);
// an answer with an error code prints its code and message (exit 1).
import { EXIT_FAILED, EXIT_OK, UsageError, parseFlags } from './exit.js';

export const PROMOTE_HELP = `Usage: tandem promote --mode switchover|failover --admin URL [--timeout MS]

Promotes the replica region: run it against the admin API of the replica
region's active broker (for example http://127.0.0.1:8163).

  --mode switchover  Consistency first: the primary stops taking clients and
                     drains, the replica takes over with nothing lost, and the
                     old primary becomes its replica. Needs both regions and
                     the link.
  --mode failover    Availability first: the replica becomes primary at once
                     with what it has; the result says where that ends (RPO).
  --admin URL        The replica's admin API (http://host:port)
  --timeout MS       How long a switchover waits for the drain (default 30000)

Exit codes: 0 promoted, 1 refused or failed (the code and message are
printed), 2 bad command line.
`;

interface Options {
  mode: 'SWITCHOVER' | 'FAILOVER';
  admin: URL;
  timeoutMs?: number;
}

function parse(args: string[]): Options | 'help' {
  const values = parseFlags(
    args,
    { mode: { type: 'string' }, admin: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    'promote: ',
  );
  if (values.help === true) return 'help';
  const mode = values.mode?.toUpperCase();
  if (mode !== 'SWITCHOVER' && mode !== 'FAILOVER') throw new UsageError(`promote: --mode must be switchover or failover (got ${values.mode ?? 'nothing'})`);
  if (values.admin === undefined) throw new UsageError('promote: --admin URL is required (the replica region active broker\'s admin API)');
  let admin: URL;
  try {
    admin = new URL(values.admin);
  } catch {
    throw new UsageError(`promote: --admin must be a URL such as http://127.0.0.1:8163 (got ${values.admin})`);
  }
  if (admin.protocol !== 'http:' && admin.protocol !== 'https:') throw new UsageError(`promote: --admin must be an http:// or https:// URL (got ${values.admin})`);
  const options: Options = { mode, admin };
  if (values.timeout !== undefined) {
    const timeoutMs = Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) throw new UsageError(`promote: --timeout must be milliseconds from 100 to 600000 (got ${values.timeout})`);
    options.timeoutMs = timeoutMs;
  }
  return options;
}

export async function runPromote(args: string[]): Promise<number> {
  const options = parse(args);
  if (options === 'help') {
    process.stdout.write(PROMOTE_HELP);
    return EXIT_OK;
  }
  const url = new URL('/promote', options.admin);
  const body = JSON.stringify({ mode: options.mode, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout((options.timeoutMs ?? 30_000) + 30_000) });
  } catch (error) {
    process.stderr.write(`tandem promote: cannot reach ${url.href}: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }
  const text = await response.text();
  let value: Record<string, unknown> | undefined;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    value = undefined;
  }
  if (!response.ok) {
    const error = (value?.['error'] ?? {}) as { code?: string; message?: string };
    process.stderr.write(`tandem promote: ${error.code ?? `HTTP ${response.status}`}: ${error.message ?? text.trim()}\n`);
    return EXIT_FAILED;
  }
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  process.stdout.write(`${summary(value ?? {})}\n`);
  return EXIT_OK;
}

function summary(result: Record<string, unknown>): string {
  const rpo = result['rpo'] as { position?: { segment: number; offset: number }; time?: string | null; lostUnknown?: boolean } | undefined;
  const head = `region ${String(result['region'])} is primary at generation ${String(result['generation'])} (${String(result['mode'])}, ${String(result['tookMs'])} ms)`;
  if (rpo === undefined) return `${head}: nothing lost`;
  const at = rpo.position === undefined ? '?' : `${rpo.position.segment}+${rpo.position.offset}`;
  return `${head}: replicated up to ${at}, last record seen by the old primary at ${rpo.time ?? 'an unknown time'}${rpo.lostUnknown ? '; what the old primary held beyond is not known here (it goes to its quarantine folder when it rejoins)' : ''}`;
}
