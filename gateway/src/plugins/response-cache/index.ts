export { createResponseCachePlugin, type ResponseCacheCounters } from './plugin.js';
export { responseCacheOptionsSchema, type ResponseCacheOptions } from './options.js';
export { createCacheStore, LruMap, type CachedEntry, type CacheStore } from './store.js';
