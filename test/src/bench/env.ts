// The benchmarks' settings from the environment, checked: a bad value names its variable and stops
// the run before anything starts.

/** A positive integer, or `fallback` when unset or empty. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** A comma list of values from `allowed`, or `fallback` (all of them by default) when unset or empty. */
export function envList<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[] = allowed): T[] {
  const raw = process.env[name];
  if (!raw) return [...fallback];
  const picked = raw.split(',').map((s) => s.trim());
  for (const value of picked) if (!allowed.includes(value as T)) throw new Error(`${name}: unknown value ${value} (allowed: ${allowed.join(', ')})`);
  return picked as T[];
}
