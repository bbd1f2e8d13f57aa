// An error as it crosses between the store's threads (writer, reader): structured
// clone drops an Error's own properties, and callers branch on the SQLite `code`.
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
}

export function toThreadError(err: unknown): ThreadError {
  const e = err as { name?: string; message?: string; code?: string };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), code: e?.code };
}

export const fromThreadError = (e: ThreadError): Error => Object.assign(new Error(e.message), { name: e.name, code: e.code });
