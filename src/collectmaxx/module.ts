// Collectmaxx as a feature module (src/feature.ts): the `collectmaxx` config
// section, the cmx_ tables, the exporter's in-process endpoint, the result
// events it publishes, the admin routes under /admin/collectmaxx, the console
// page and the `collectmaxx import` command.
import type { FeatureModule } from '../feature.js';
import { collectmaxxCommand, COLLECTMAXX_USAGE } from './cli.js';
import { COLLECTMAXX_ENDPOINT_ID, collectmaxxConfigSchema, type CollectmaxxConfig } from './core/config.js';
import { collectmaxxPages } from './console-page.js';
import { COLLECTMAXX_EVENT_TYPES, collectmaxxEventSchema } from './core/events.js';
import { collectmaxxRoutes } from './routes.js';
import { Collectmaxx } from './service.js';
import { collectmaxxStorage } from './storage.js';
import type { CollectmaxxStore } from './store.js';

export const collectmaxx: FeatureModule<CollectmaxxConfig, CollectmaxxStore, Collectmaxx> = {
  name: 'collectmaxx',
  configSchema: collectmaxxConfigSchema,
  checkConfig(section, check) {
    section.export?.rules.forEach((r, i) => r.merchants?.forEach((m, j) => {
      if (!check.merchantIds.has(m)) check.issue(['export', 'rules', i, 'merchants', j], `unknown merchant ${m}`);
    }));
  },
  reservedEndpointIds: [COLLECTMAXX_ENDPOINT_ID],
  storage: collectmaxxStorage,
  events: [{ name: 'CollectmaxxEvent', schema: collectmaxxEventSchema, types: COLLECTMAXX_EVENT_TYPES }],
  adminRoutes: collectmaxxRoutes,
  console: { nav: { id: 'collectmaxx', href: '/console/collectmaxx', label: 'Collectmaxx' }, pages: collectmaxxPages },
  cli: { usage: COLLECTMAXX_USAGE, run: collectmaxxCommand },
  create: (ctx) => new Collectmaxx(ctx),
};
