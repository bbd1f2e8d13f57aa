import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** notAfter of the leaf certificate, epoch seconds. */
  notAfter: number;
}

/** Read and sanity-check the pair; throws with the file named so a bad reload is logged, not served. */
export function readTls(paths: { cert: string; key: string }): TlsMaterial {
  const cert = readFileSync(paths.cert);
  const key = readFileSync(paths.key);
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error(`TLS key ${paths.key} does not match certificate ${paths.cert}`);
  return { cert, key, notAfter: Math.floor(Date.parse(x509.validTo) / 1000) };
}

/**
 * Watch the certificate and key files (their directories, so that atomic
 * replace-by-rename is seen too) and call back once per burst of changes.
 */
export function watchTls(paths: { cert: string; key: string }, onChange: () => void, debounceMs = 200): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  const names = new Set([basename(paths.cert), basename(paths.key)]);
  for (const dir of new Set([dirname(paths.cert), dirname(paths.key)])) {
    const w = watch(dir, (_event, file) => {
      if (file && !names.has(String(file))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    w.unref();
    watchers.push(w);
  }
  return () => {
    if (timer) clearTimeout(timer);
    watchers.forEach((w) => w.close());
  };
}
