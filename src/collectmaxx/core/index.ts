// The pure Collectmaxx core: one import for the exporter, importer, routes and CLI.
export * from './spec.js';
export * from './phone.js';
export * from './dates.js';
export * from './validate.js';
export * from './template.js';
export * from './identifier.js';
export * from './csv.js';
export * from './xml.js';
export * from './csv-read.js';
export * from './filename.js';
export * from './codes.js';
export * from './result-values.js';
export * from './results.js';
export * from './result-events.js';
export * from './record.js';
export * from './batch.js';
export * from './config.js';
