// The registered feature modules, in the order the relay starts them. The only
// place outside a feature's folder that imports it (checked by .dependency-cruiser.cjs).
import { collectmaxx } from './collectmaxx/module.js';
import type { AnyFeatureModule } from './feature.js';

export const FEATURES: readonly AnyFeatureModule[] = [collectmaxx];
