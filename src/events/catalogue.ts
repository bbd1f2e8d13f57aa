// Every event type the relay can emit: the one list endpoint filters are checked
// against at start, so a filter that can never match (a typo, a bare `*` meant as
// "everything") stops the relay instead of silently delivering nothing.
// A new core event type goes into CORE_EVENT_TYPES; a feature declares its own
// (FeatureModule.events) and they count only when it is configured.
import { EVENT_TYPES } from '../paygate/operation.js';
export { compileGlob } from './glob.js';

export const CORE_EVENT_TYPES: readonly string[] = Object.freeze([
  ...EVENT_TYPES,
  // A second callback for the same payment that contradicts the first.
  'callback.conflict',
  // POST /admin/endpoints/:id/test.
  'relay.test',
]);

/** The catalogue for a configuration: the core types plus those of the configured features. */
export function eventCatalogue(featureTypes: readonly string[] = []): string[] {
  return [...CORE_EVENT_TYPES, ...featureTypes];
}
