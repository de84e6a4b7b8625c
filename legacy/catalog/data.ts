import { SEED_PRODUCT_COUNT, seededRandom } from '../../subgraphs/shared/seed.js';

/** A product as the catalog stores and sends it: snake_case wire names, money as a decimal string. */
export interface CatalogProduct {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  category: Category;
  price: { amount: string; currency: 'EUR' };
  weight_kg: number;
  dimensions: { width_cm: number; depth_cm: number; height_cm: number };
  updated_at: string;
}

export const CATEGORIES = ['sofas', 'chairs', 'tables', 'beds', 'lamps', 'shelves', 'desks', 'rugs'] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_NAMES: Record<Category, string> = {
  sofas: 'Sofas',
  chairs: 'Chairs',
  tables: 'Tables',
  beds: 'Beds',
  lamps: 'Lamps',
  shelves: 'Shelves',
  desks: 'Desks',
  rugs: 'Rugs',
};

const LINES = ['Oslo', 'Bergen', 'Tromsø', 'Malmö', 'Aarhus', 'Turku', 'Gdańsk', 'Riga', 'Tallinn', 'Lund', 'Visby', 'Odense'];
const MATERIALS = ['oak', 'walnut', 'birch', 'ash', 'linen', 'wool', 'velvet', 'leather', 'steel', 'rattan'];
const COLOURS = ['sand', 'charcoal', 'moss green', 'terracotta', 'off-white', 'navy', 'ochre', 'stone grey'];

const SHAPES: Record<Category, { kinds: string[]; price: [number, number]; weight: [number, number]; size: [number, number, number] }> = {
  sofas: { kinds: ['2-seat sofa', '3-seat sofa', 'corner sofa', 'sofa bed'], price: [499, 2499], weight: [35, 95], size: [220, 95, 85] },
  chairs: { kinds: ['dining chair', 'armchair', 'lounge chair', 'bar stool'], price: [59, 699], weight: [4, 25], size: [60, 60, 90] },
  tables: { kinds: ['dining table', 'coffee table', 'side table', 'extendable table'], price: [89, 1599], weight: [8, 70], size: [180, 90, 75] },
  beds: { kinds: ['double bed', 'single bed', 'bunk bed', 'daybed'], price: [249, 1899], weight: [30, 110], size: [160, 210, 100] },
  lamps: { kinds: ['floor lamp', 'table lamp', 'pendant lamp', 'wall lamp'], price: [29, 349], weight: [1, 9], size: [35, 35, 150] },
  shelves: { kinds: ['bookcase', 'wall shelf', 'shelving unit', 'display cabinet'], price: [39, 899], weight: [5, 60], size: [80, 35, 200] },
  desks: { kinds: ['writing desk', 'standing desk', 'corner desk', 'secretary desk'], price: [129, 1199], weight: [15, 55], size: [140, 70, 75] },
  rugs: { kinds: ['flatwoven rug', 'shag rug', 'runner', 'round rug'], price: [49, 799], weight: [2, 18], size: [200, 300, 1] },
};

function between(random: () => number, [low, high]: [number, number]): number {
  return low + random() * (high - low);
}

/** 200 seeded furniture products p1..p200, identical on every run. */
export function seedProducts(): CatalogProduct[] {
  const random = seededRandom(3);
  const start = Date.UTC(2024, 0, 1);
  const span = Date.UTC(2025, 5, 1) - start;
  const products: CatalogProduct[] = [];
  for (let i = 1; i <= SEED_PRODUCT_COUNT; i += 1) {
    const category = CATEGORIES[(i - 1) % CATEGORIES.length]!;
    const shape = SHAPES[category];
    const kind = shape.kinds[Math.floor(random() * shape.kinds.length)]!;
    const line = LINES[Math.floor(random() * LINES.length)]!;
    const material = MATERIALS[Math.floor(random() * MATERIALS.length)]!;
    const colour = COLOURS[Math.floor(random() * COLOURS.length)]!;
    const price = Math.round(between(random, shape.price)) - 0.01;
    const scale = 0.8 + random() * 0.4;
    products.push({
      id: `p${i}`,
      sku: `${category.slice(0, 3).toUpperCase()}-${String(10000 + i * 37).slice(-5)}`,
      name: `${line} ${kind}`,
      description: i % 17 === 0 ? null : `A ${kind} in ${colour} ${material}, designed to last.`,
      category,
      price: { amount: price.toFixed(2), currency: 'EUR' },
      weight_kg: Math.round(between(random, shape.weight) * 10) / 10,
      dimensions: {
        width_cm: Math.round(shape.size[0] * scale),
        depth_cm: Math.round(shape.size[1] * scale),
        height_cm: Math.max(1, Math.round(shape.size[2] * scale)),
      },
      updated_at: new Date(start + Math.floor(random() * span)).toISOString(),
    });
  }
  return products;
}
