import { seedProducts } from '../catalog/data.js';
import { SEED_USER_COUNT, seededRandom } from '../../subgraphs/shared/seed.js';

export const ORDER_STATUSES = ['Pending', 'Paid', 'Shipped', 'Delivered', 'Cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderLineRecord {
  productId: string;
  quantity: number;
  /** Unit price in cents: money is integer arithmetic here, decimal strings on the wire. */
  unitCents: number;
}

export interface OrderRecord {
  id: string;
  customerId: string;
  status: OrderStatus;
  placedAt: Date;
  lines: OrderLineRecord[];
  note: string | null;
  revision: bigint;
}

/** Catalog prices in cents, so ERP orders use the catalog's prices. */
export const PRICE_CENTS: ReadonlyMap<string, number> = new Map(
  seedProducts().map((p) => [p.id, Math.round(Number(p.price.amount) * 100)]),
);

export function cents(value: number): string {
  return `${Math.floor(value / 100)}.${String(value % 100).padStart(2, '0')}`;
}

export function totalCents(order: OrderRecord): number {
  return order.lines.reduce((sum, line) => sum + line.quantity * line.unitCents, 0);
}

/** Three orders per seeded user (o1..o180), newest last; revisions sit beyond 2^53. */
export function seedOrders(): OrderRecord[] {
  const random = seededRandom(4);
  const orders: OrderRecord[] = [];
  const start = Date.UTC(2024, 2, 1);
  for (let n = 1; n <= SEED_USER_COUNT * 3; n += 1) {
    const customer = ((n - 1) % SEED_USER_COUNT) + 1;
    const lineCount = 1 + Math.floor(random() * 3);
    const lines: OrderLineRecord[] = [];
    for (let l = 0; l < lineCount; l += 1) {
      const productId = `p${1 + Math.floor(random() * 200)}`;
      if (lines.some((line) => line.productId === productId)) continue;
      lines.push({ productId, quantity: 1 + Math.floor(random() * 3), unitCents: PRICE_CENTS.get(productId)! });
    }
    orders.push({
      id: `o${n}`,
      customerId: `u${customer}`,
      status: ORDER_STATUSES[Math.floor(random() * 4)]!,
      placedAt: new Date(start + n * 3_600_000 * 31),
      lines,
      note: n % 5 === 0 ? 'Leave at the back door' : null,
      revision: 9_007_199_254_740_993n + BigInt(n),
    });
  }
  return orders;
}
