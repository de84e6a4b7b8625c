import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { startRestAdapter, type RunningRestAdapter } from '../../adapters/rest/adapter.js';
import { startCatalog, type RunningCatalog } from '../../legacy/catalog/server.js';
import { startAccounts } from '../../subgraphs/accounts/server.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { startReviews } from '../../subgraphs/reviews/server.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { COMMITTED_SUPERGRAPH, startTestGateway } from './servers.js';

export const PRODUCTS_MAPPING = projectPath('adapters', 'services', 'products', 'products.rest.yaml');
export const CATALOG_ADMIN_TOKEN = 'test-admin-token';

export interface Stack {
  catalog: RunningCatalog;
  accounts: RunningSubgraph;
  reviews: RunningSubgraph;
  products: RunningRestAdapter;
  gateway: RunningGateway;
  stop(): Promise<void>;
}

/** The committed supergraph with every service on port 0: legacy stand-ins, subgraphs, adapters, gateway. */
export async function startStack(): Promise<Stack> {
  const catalog = await startCatalog({ logLevel: 'silent', adminToken: CATALOG_ADMIN_TOKEN });
  const [accounts, reviews, products] = await Promise.all([
    startAccounts({ logLevel: 'silent' }),
    startReviews({ logLevel: 'silent' }),
    startRestAdapter({
      mappingPath: PRODUCTS_MAPPING,
      targetUrl: catalog.url,
      logLevel: 'silent',
      env: { CATALOG_ADMIN_TOKEN },
    }),
  ]);
  const gateway = await startTestGateway({
    supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
    subgraphs: { accounts: { url: accounts.url }, reviews: { url: reviews.url }, products: { url: products.url } },
  });
  return {
    catalog,
    accounts,
    reviews,
    products,
    gateway,
    async stop() {
      await gateway.stop();
      await Promise.all([accounts.stop(), reviews.stop(), products.stop()]);
      await catalog.stop();
    },
  };
}
