// Every event type the relay can emit: the one list endpoint filters are checked
// against at start, so a filter that can never match (a typo, a bare `*` meant as
// "everything") stops the relay instead of silently delivering nothing.
// A new event type goes into CORE_EVENT_TYPES; a feature's types go into
// FEATURE_EVENT_TYPES under the feature's config key and count only when it is configured.
import { EVENT_TYPES } from '../paygate/operation.js';
export { compileGlob } from './glob.js';
import { COLLECTMAXX_EVENT_TYPES } from './schema.js';

export const CORE_EVENT_TYPES: readonly string[] = Object.freeze([
  ...EVENT_TYPES,
  // A second callback for the same payment that contradicts the first.
  'callback.conflict',
  // POST /admin/endpoints/:id/test.
  'relay.test',
]);

export const FEATURE_EVENT_TYPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  collectmaxx: COLLECTMAXX_EVENT_TYPES,
});

/** The catalogue for a configuration: the core types plus those of the configured features. */
export function eventCatalogue(features: readonly string[]): string[] {
  return [...CORE_EVENT_TYPES, ...features.flatMap((f) => FEATURE_EVENT_TYPES[f] ?? [])];
}
