// The one interface a feature plugs into the relay through. A feature lives in
// its own folder and is listed in src/features.ts, the only file outside its
// folder that imports it. The relay, the config schema, the HTTP app, the
// console, the OpenAPI document and the CLI loop over the registered modules;
// the core never names a feature.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ConsoleHooks } from './console/hooks.js';
import type { Endpoint } from './delivery/endpoints.js';
import type { OutgoingEvent } from './events/publish.js';
import type { Hub } from './observe.js';
import type { TokenTable } from './routes/auth.js';
import type { ErasureMatch, StoreExtension } from './store/extension.js';
import type { Store } from './store/types.js';

/** What a feature's config check sees of the rest of the configuration. */
export interface FeatureConfigCheck {
  readonly merchantIds: ReadonlySet<string>;
  /** Report a problem at `path` inside the feature's section (the start fails naming the key). */
  issue(path: readonly (string | number)[], message: string): void;
}

/** A family of events a feature publishes: their envelope schema and every type. */
export interface EventFamily {
  /** Component name in openapi.yaml, e.g. `CollectmaxxEvent`. */
  readonly name: string;
  readonly schema: z.ZodType;
  readonly types: readonly string[];
}

/** What a running feature gets from the relay it is part of. */
export interface FeatureContext<C, S> {
  /** Its own config section, validated by its schema. */
  readonly config: C;
  /** Its storage: what store.extend(module.storage) returned, migrated with the core. */
  readonly storage: S;
  readonly store: Store;
  readonly hub: Hub;
  readonly logger: Logger;
  /** This process's lease owner id. */
  readonly owner: string;
  readonly clock: () => number;
  /** Every endpoint (configured and in-process), for routing. */
  readonly endpoints: () => Endpoint[];
  /** Route, store and announce an event (events/publish.ts); its deliveries are due at `now` (default: the clock). */
  publish(event: OutgoingEvent, now?: number): Promise<{ eventId: string; duplicate: boolean }>;
}

/** A feature inside a running relay. */
export interface FeatureInstance {
  /**
   * In-process endpoints it adds to the outbox: leases, retries, dead letters and redelivery
   * like any endpoint, without HTTP (see Endpoint.local). Asked once, before the dispatcher starts.
   */
  endpoints?(): Endpoint[];
  /**
   * After erasure ran over its tables (StoreExtension.erase): erase the subject from what it keeps
   * outside the database (files). Items changed, by name (a metric label and an audit key).
   */
  erased?(match: ErasureMatch): Promise<Record<string, number>>;
  /** Background work, only in a serving relay (not in one-shot CLI commands). */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** What a feature's admin routes get: registered whether or not it is configured (the API contract). */
export interface FeatureRouteOptions<F> {
  /** null when the feature is not configured: its routes answer 404. */
  readonly feature: F | null;
  readonly tokens: TokenTable;
  readonly now: () => number;
}

/** What a feature's CLI command gets (`paygate-relay <name> ...`). */
export interface FeatureCliContext<F> {
  /** Start a relay from the config (no delivery, quiet log) and hand over the feature, or fail when it is not configured. */
  open(configPath: string | undefined): Promise<{ feature: F; now: () => number; close(): Promise<void> }>;
  /** An error the CLI prints as a one-line usage/config message (exit code 2). */
  usage(message: string): Error;
}

export interface FeatureModule<C = unknown, S = unknown, F extends FeatureInstance = FeatureInstance> {
  /** Its config key at the top level; the feature is on when that section is present. */
  readonly name: string;
  readonly configSchema: z.ZodType<C>;
  /** Checks that need the rest of the configuration (known merchants). */
  checkConfig?(section: C, check: FeatureConfigCheck): void;
  /** Endpoint ids its in-process endpoints use: configured endpoints may not take them. */
  readonly reservedEndpointIds?: readonly string[];
  /** Its tables: migrations per dialect, write operations, storage per dialect. */
  readonly storage?: StoreExtension<S>;
  /** Events it publishes (OpenAPI webhooks). */
  readonly events?: readonly EventFamily[];
  /** Admin API routes (Fastify plugin on the admin surface). */
  readonly adminRoutes?: (app: FastifyInstance, opts: FeatureRouteOptions<F>) => Promise<void>;
  /** Console pages, shown in the navigation when the feature is configured. */
  readonly console?: {
    readonly nav: { readonly id: string; readonly href: string; readonly label: string };
    pages(app: FastifyInstance, hooks: ConsoleHooks, feature: F): void;
  };
  /** A CLI command named after the feature. */
  readonly cli?: {
    readonly usage: string;
    run(argv: string[], ctx: FeatureCliContext<F>): Promise<void>;
  };
  /** Build it for a relay whose config has its section. */
  create(ctx: FeatureContext<C, S>): F;
}

/** A registered module, whatever its types (the registry's element type). */
// The registry holds modules of different config, storage and instance types.
export type AnyFeatureModule = FeatureModule<any, any, any>;

/** Its section of a validated config, or undefined when it is not configured. */
export function featureSection<C>(config: object, module: FeatureModule<C, unknown, FeatureInstance>): C | undefined {
  return (config as Record<string, unknown>)[module.name] as C | undefined;
}
