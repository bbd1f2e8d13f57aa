import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

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
 * Watch the directories of the certificate and key and call back once per
 * burst of changes to the two files or to a Kubernetes Secret volume's
 * `..data` symlink (the kubelet swaps that, never the file names). Other
 * entries are ignored: a busy neighbour such as a database file would
 * otherwise keep postponing the debounced reload. The caller skips unchanged pairs.
 */
export function watchTls(paths: { cert: string; key: string }, onChange: () => void, debounceMs = 200): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  const names = new Set([basename(paths.cert), basename(paths.key)]);
  for (const dir of new Set([dirname(paths.cert), dirname(paths.key)])) {
    const w = watch(dir, (_event, file) => {
      const name = file ? String(file) : null;
      if (name !== null && !names.has(name) && !name.startsWith('..')) return;
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
