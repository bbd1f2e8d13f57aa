// Small helpers shared by the storage adapters.

/** Event-type glob (`*` within one dot segment) → SQL GLOB pattern plus the dot count it must have. */
export function globToSql(glob: string): { glob: string; dots: number } {
  if (!/^[a-z0-9_*]+(\.[a-z0-9_*]+)*$/.test(glob)) throw new Error(`invalid event type filter: ${glob}`);
  // Requiring the same number of dots stops a GLOB `*` from spanning segments.
  return { glob, dots: glob.split('.').length - 1 };
}

export function encodeCursor(n: number): string {
  return Buffer.from(String(n)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (!cursor) return null;
  const n = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(n) || n < 0) throw new Error('invalid cursor');
  return n;
}
