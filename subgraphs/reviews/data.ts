import { SEED_PRODUCT_COUNT, SEED_USER_COUNT, seededRandom } from '../shared/seed.js';

export interface ReviewRecord {
  id: string;
  rating: number;
  body: string;
  createdAt: Date;
  authorId: string;
  productId: string;
}

const OPENINGS = [
  'Solid build and quick delivery.',
  'Looks even better than in the photos.',
  'Comfortable, though assembly took an afternoon.',
  'The colour is slightly darker than expected.',
  'Exactly what our living room needed.',
  'Sturdy, well finished, no wobble at all.',
  'Good value for the price.',
  'Packaging was damaged but the item was fine.',
  'Instructions were confusing; the result is great.',
  'Would buy again for the guest room.',
];
const CLOSINGS = [
  'Recommended.',
  'Five stars from the whole family.',
  'Customer service answered within a day.',
  'It fits the space perfectly.',
  'Not perfect, but close.',
  'The fabric feels durable.',
  '',
];

/** In-memory review store, seeded deterministically; ordered newest first per product and author. */
export class ReviewStore {
  private readonly reviews = new Map<string, ReviewRecord>();
  private readonly byProduct = new Map<string, ReviewRecord[]>();
  private readonly byAuthor = new Map<string, ReviewRecord[]>();
  private nextId = 1;

  constructor(seed = true) {
    if (seed) this.seed();
  }

  private seed(): void {
    const random = seededRandom(2);
    const start = Date.UTC(2022, 0, 1);
    const span = Date.UTC(2025, 6, 1) - start;
    const seeded: Omit<ReviewRecord, 'id'>[] = [];
    // Every product gets 1..5 reviews, and every user writes at least one.
    for (let p = 1; p <= SEED_PRODUCT_COUNT; p += 1) {
      const count = 1 + Math.floor(random() * 5);
      for (let k = 0; k < count; k += 1) {
        const author = seeded.length < SEED_USER_COUNT ? seeded.length + 1 : 1 + Math.floor(random() * SEED_USER_COUNT);
        const rating = Math.max(1, Math.min(5, Math.round(2.5 + random() * 3)));
        const body = `${OPENINGS[Math.floor(random() * OPENINGS.length)]} ${CLOSINGS[Math.floor(random() * CLOSINGS.length)]}`.trim();
        seeded.push({ rating, body, createdAt: new Date(start + Math.floor(random() * span)), authorId: `u${author}`, productId: `p${p}` });
      }
    }
    seeded.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const review of seeded) this.insert(review);
  }

  private insert(review: Omit<ReviewRecord, 'id'>): ReviewRecord {
    const record = { id: `r${this.nextId++}`, ...review };
    this.reviews.set(record.id, record);
    for (const [index, key] of [[this.byProduct, record.productId], [this.byAuthor, record.authorId]] as const) {
      const list = index.get(key);
      if (list) list.unshift(record);
      else index.set(key, [record]);
    }
    return record;
  }

  get(id: string): ReviewRecord | undefined {
    return this.reviews.get(id);
  }

  forProduct(productId: string): readonly ReviewRecord[] {
    return this.byProduct.get(productId) ?? [];
  }

  forAuthor(authorId: string): readonly ReviewRecord[] {
    return this.byAuthor.get(authorId) ?? [];
  }

  add(review: Omit<ReviewRecord, 'id' | 'createdAt'>, now = new Date()): ReviewRecord {
    return this.insert({ ...review, createdAt: now });
  }
}
