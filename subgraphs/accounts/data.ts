import { SEED_USER_COUNT, seededRandom } from '../shared/seed.js';

export interface UserRecord {
  id: string;
  name: string;
  email: string;
  memberSince: Date;
}

const FIRST = [
  'Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken',
  'Radia', 'Tim', 'Hedy', 'Dennis', 'Katherine', 'John', 'Sophie', 'Guido', 'Annie', 'Bjarne',
];
const LAST = [
  'Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Dijkstra', 'Liskov', 'Knuth', 'Allen',
  'Thompson', 'Perlman', 'Berners-Lee', 'Lamarr', 'Ritchie', 'Johnson', 'McCarthy', 'Wilson',
  'van Rossum', 'Easley', 'Stroustrup', 'Nakamura', 'Okafor', 'Schmidt', 'Rossi',
];

function build(): UserRecord[] {
  const random = seededRandom(1);
  const start = Date.UTC(2015, 0, 1);
  const span = Date.UTC(2025, 0, 1) - start;
  const users: UserRecord[] = [];
  for (let i = 1; i <= SEED_USER_COUNT; i += 1) {
    const first = FIRST[(i - 1) % FIRST.length]!;
    const last = LAST[Math.floor(random() * LAST.length)]!;
    users.push({
      id: `u${i}`,
      name: `${first} ${last}`,
      email: `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + `${i}@example.com`,
      memberSince: new Date(start + Math.floor(random() * span)),
    });
  }
  // Oldest member first: the order of Query.users.
  return users.sort((a, b) => a.memberSince.getTime() - b.memberSince.getTime());
}

export const USERS: readonly UserRecord[] = build();
export const USERS_BY_ID: ReadonlyMap<string, UserRecord> = new Map(USERS.map((user) => [user.id, user]));
