// Small hand-written validators for the configuration. Each check names the field path it looked
// at, so an operator reads `stomp.port: must be an integer from 0 to 65535` instead of a stack.

export interface Issue {
  /** Dotted path from the top of the file, e.g. "deadLetter.rules[0].prefix". */
  path: string;
  message: string;
}

/** Returns the checked value, or undefined after recording an issue. */
export type Check<T> = (value: unknown, path: string, issues: Issue[]) => T | undefined;

export type Mapping = Record<string, unknown>;

export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): Check<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  return (value, path, issues) => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    issues.push({ path, message: `must be an integer ${range}` });
    return undefined;
  };
}

export function number(min: number): Check<number> {
  return (value, path, issues) => {
    if (typeof value === 'number' && Number.isFinite(value) && value >= min) return value;
    issues.push({ path, message: `must be a number of at least ${min}` });
    return undefined;
  };
}

export const boolean: Check<boolean> = (value, path, issues) => {
  if (typeof value === 'boolean') return value;
  issues.push({ path, message: `must be true or false` });
  return undefined;
};

/** A non-empty string without whitespace at either end. */
export const text: Check<string> = (value, path, issues) => {
  if (typeof value === 'string' && value.length > 0 && value.trim() === value) return value;
  issues.push({ path, message: `must be a non-empty string` });
  return undefined;
};

export function oneOf<T extends string>(choices: readonly T[]): Check<T> {
  return (value, path, issues) => {
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
    issues.push({ path, message: `must be one of ${choices.join(', ')}` });
    return undefined;
  };
}

/** A string that passes `test`; `expected` completes "must be ...". */
export function matching(test: (value: string) => boolean, expected: string): Check<string> {
  return (value, path, issues) => {
    if (typeof value === 'string' && test(value)) return value;
    issues.push({ path, message: `must be ${expected}` });
    return undefined;
  };
}

/**
 * Opens a mapping at `path`: reports a wrong type and every key outside `keys`. Returns an empty
 * mapping for an absent (or YAML-null) section so that every field falls back to its default.
 */
export function mapping(value: unknown, path: string, keys: readonly string[], issues: Issue[]): Mapping {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.push({ path: path === '' ? '(top level)' : path, message: `must be a mapping` });
    return {};
  }
  const record = value as Mapping;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) {
      issues.push({ path: joinPath(path, key), message: `unknown key (expected one of ${keys.join(', ')})` });
    }
  }
  return record;
}

/** Reads one field of a mapping: its checked value, or `fallback` when absent or invalid. */
export function field<T>(
  record: Mapping,
  key: string,
  path: string,
  check: Check<T>,
  fallback: T,
  issues: Issue[],
): T {
  const value = record[key];
  if (value === undefined || value === null) return fallback;
  return check(value, joinPath(path, key), issues) ?? fallback;
}

/** Like field() for a field without a default: records "is required" when absent. */
export function required<T>(record: Mapping, key: string, path: string, check: Check<T>, issues: Issue[]): T | undefined {
  const value = record[key];
  if (value === undefined || value === null) {
    issues.push({ path: joinPath(path, key), message: 'is required' });
    return undefined;
  }
  return check(value, joinPath(path, key), issues);
}
