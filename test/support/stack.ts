import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { startGrpcAdapter, type RunningGrpcAdapter } from '../../adapters/grpc/adapter.js';
import { startRestAdapter, type RunningRestAdapter } from '../../adapters/rest/adapter.js';
import { startSoapAdapter, type RunningSoapAdapter } from '../../adapters/soap/adapter.js';
import { startCatalog, type RunningCatalog } from '../../legacy/catalog/server.js';
import { startErp, type RunningErp } from '../../legacy/erp/server.js';
import { startWarehouse, type RunningWarehouse } from '../../legacy/warehouse/server.js';
import { startAccounts } from '../../subgraphs/accounts/server.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { startReviews } from '../../subgraphs/reviews/server.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { COMMITTED_SUPERGRAPH, startTestGateway } from './servers.js';

export const PRODUCTS_MAPPING = projectPath('adapters', 'services', 'products', 'products.rest.yaml');
export const INVENTORY_MAPPING = projectPath('adapters', 'services', 'inventory', 'inventory.grpc.yaml');
export const ORDERS_MAPPING = projectPath('adapters', 'services', 'orders', 'orders.soap.yaml');
export const ERP_CREDENTIALS = { ERP_USERNAME: 'test-user', ERP_PASSWORD: 'test-secret' };
export const CATALOG_ADMIN_TOKEN = 'test-admin-token';

export interface Stack {
  catalog: RunningCatalog;
  warehouse: RunningWarehouse;
  inventory: RunningGrpcAdapter;
  erp: RunningErp;
  orders: RunningSoapAdapter;
  accounts: RunningSubgraph;
  reviews: RunningSubgraph;
  products: RunningRestAdapter;
  gateway: RunningGateway;
  stop(): Promise<void>;
}

/** The committed supergraph with every service on port 0: legacy stand-ins, subgraphs, adapters, gateway. */
export async function startStack(): Promise<Stack> {
  const [catalog, warehouse, erp] = await Promise.all([
    startCatalog({ logLevel: 'silent', adminToken: CATALOG_ADMIN_TOKEN }),
    startWarehouse({ logLevel: 'silent' }),
    startErp({ logLevel: 'silent', username: ERP_CREDENTIALS.ERP_USERNAME, password: ERP_CREDENTIALS.ERP_PASSWORD }),
  ]);
  const [accounts, reviews, products, inventory, orders] = await Promise.all([
    startAccounts({ logLevel: 'silent' }),
    startReviews({ logLevel: 'silent' }),
    startRestAdapter({
      mappingPath: PRODUCTS_MAPPING,
      targetUrl: catalog.url,
      logLevel: 'silent',
      env: { CATALOG_ADMIN_TOKEN },
    }),
    startGrpcAdapter({ mappingPath: INVENTORY_MAPPING, address: warehouse.address, logLevel: 'silent', env: {} }),
    startSoapAdapter({ mappingPath: ORDERS_MAPPING, endpoint: erp.endpoint, logLevel: 'silent', env: ERP_CREDENTIALS }),
  ]);
  const gateway = await startTestGateway({
    supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
    subgraphs: {
      accounts: { url: accounts.url },
      reviews: { url: reviews.url },
      products: { url: products.url },
      inventory: { url: inventory.url },
      orders: { url: orders.url },
    },
  });
  return {
    catalog,
    warehouse,
    inventory,
    erp,
    orders,
    accounts,
    reviews,
    products,
    gateway,
    async stop() {
      await gateway.stop();
      await Promise.all([accounts.stop(), reviews.stop(), products.stop(), inventory.stop(), orders.stop()]);
      await Promise.all([catalog.stop(), warehouse.stop(), erp.stop()]);
    },
  };
}
