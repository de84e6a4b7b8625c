export { createPersistedDocumentsPlugin } from './plugin.js';
export { persistedDocumentsOptionsSchema, type PersistedDocumentsOptions } from './options.js';
export { readManifest, buildManifest, type Manifest, type ManifestOperation } from './manifest.js';
