import DataLoader from 'dataloader';

export interface EntityLoaderOptions<V> {
  /** Fetches many keys in one legacy call; keys missing from the result are not found. */
  batch?: (keys: readonly string[]) => Promise<Map<string, V>>;
  /** Fetches one key; used when the service has no batch endpoint. */
  single?: (key: string) => Promise<V>;
  /** Largest batch one legacy call may carry. */
  maxBatchSize: number;
  /** Single-item calls in flight at once for one batch. */
  concurrency: number;
  /** The error a key that is not found resolves to (null plus NOT_FOUND at its path). */
  notFound: (key: string) => Error;
}

async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * One DataLoader per request and entity type: the N references of one query-plan fetch become one
 * batch call, or single calls with bounded concurrency. A failed legacy call fails the keys of
 * that call only.
 */
export function createEntityLoader<V>(options: EntityLoaderOptions<V>): DataLoader<string, V> {
  const { batch, single } = options;
  if (!batch && !single) throw new Error('an entity loader needs a batch or a single-item fetch');
  return new DataLoader<string, V>(
    async (keys) => {
      if (batch) {
        try {
          const found = await batch(keys);
          return keys.map((key) => (found.has(key) ? found.get(key)! : options.notFound(key)));
        } catch (error) {
          return keys.map(() => error as Error);
        }
      }
      return mapBounded(keys, options.concurrency, (key) => single!(key).catch((error: unknown) => error as Error));
    },
    { maxBatchSize: options.maxBatchSize },
  );
}

/** Per-request loaders, created on first use. */
export class RequestLoaders {
  private readonly loaders = new Map<string, DataLoader<string, unknown>>();

  get<V>(name: string, create: () => DataLoader<string, V>): DataLoader<string, V> {
    let loader = this.loaders.get(name);
    if (!loader) {
      loader = create() as DataLoader<string, unknown>;
      this.loaders.set(name, loader);
    }
    return loader as DataLoader<string, V>;
  }
}
