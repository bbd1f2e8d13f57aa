import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { PageKit } from '../kit.js';
import { StoragePage, type StorageView } from '../pages/storage.js';

/** Database size, retention per class, the last sweep and the archive files. */
async function storagePages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  const { admin } = kit.services;
  const { viewer } = app.consoleAuth;

  app.get('/storage', { ...viewer, schema: { hide: true } }, async (req, reply) => {
    const t0 = performance.now();
    const r = admin.retention;
    const files = r ? await r.archives() : [];
    const archives = await Promise.all(files.map(async (f) => ({ name: basename(f.file), cls: f.cls, day: f.day, bytes: (await stat(f.file).catch(() => ({ size: 0 }))).size })));
    const view: StorageView = {
      database: { ...(await admin.store.databaseSize()), kind: admin.store.kind },
      retentionMs: r ? r.config : { delivered: 0, callbacks: 0, quarantine: 0, deadLetters: 0 },
      sweepEveryMs: r?.config.sweepEvery ?? 0,
      stats: r?.stats ?? null, statsAt: r?.statsAt ?? null, last: r?.last ?? null, archiveDir: r?.archiveDir ?? null,
      // Newest day first: what an operator looks for.
      archives: archives.reverse(),
    };
    return kit.html(reply, <StoragePage ctx={kit.ctxOf(req, { queries: performance.now() - t0 })} view={view} />);
  });
}

export default fp(storagePages, { name: 'console-storage', dependencies: ['console-auth'], fastify: '5.x' });
