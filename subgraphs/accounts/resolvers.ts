import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { encodeCursor, paginate } from '../shared/pagination.js';
import { DateTimeScalar } from '../shared/scalars.js';
import type { SubgraphContext } from '../shared/server.js';
import { USERS, USERS_BY_ID, type UserRecord } from './data.js';

export interface AccountsContext extends SubgraphContext {
  users: DataLoader<string, UserRecord | null>;
}

export function accountsContext(base: SubgraphContext): AccountsContext {
  // One loader per request: the N user references of one _entities call become one lookup.
  return { ...base, users: new DataLoader(async (ids) => ids.map((id) => USERS_BY_ID.get(id) ?? null)) };
}

export const resolvers: GraphQLResolverMap<AccountsContext> = {
  DateTime: DateTimeScalar,
  Query: {
    me: (_: unknown, __: unknown, ctx: AccountsContext) => {
      if (ctx.identity?.kind !== 'user') {
        throw new GraphQLError('me needs a signed-in user', { extensions: { code: 'UNAUTHENTICATED' } });
      }
      return ctx.users.load(ctx.identity.id);
    },
    user: (_: unknown, args: { id: string }, ctx: AccountsContext) => ctx.users.load(args.id),
    users: (_: unknown, args: { first?: number | null; after?: string | null }) => {
      const { page, hasNextPage } = paginate(USERS, 'user', args.first, args.after);
      const edges = page.map((node) => ({ cursor: encodeCursor('user', node.id), node }));
      return {
        edges,
        pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: USERS.length,
      };
    },
  },
  User: {
    __resolveReference: (reference: { id: string }, ctx: AccountsContext) => ctx.users.load(reference.id),
  },
};
