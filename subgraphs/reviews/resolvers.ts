import DataLoader from 'dataloader';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { GraphQLError } from 'graphql';
import { paginate } from '../shared/pagination.js';
import { DateTimeScalar } from '../shared/scalars.js';
import { isCatalogProductId, isSeedUserId } from '../shared/seed.js';
import type { SubgraphContext } from '../shared/server.js';
import type { ReviewRecord, ReviewStore } from './data.js';

export interface ReviewsContext extends SubgraphContext {
  store: ReviewStore;
  reviewsById: DataLoader<string, ReviewRecord | null>;
}

export const MAX_BODY_LENGTH = 2000;

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

interface AddReviewInput {
  productId: string;
  authorId: string;
  rating: number;
  body: string;
}

function invalid(field: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field: `input.${field}` } });
}

export function reviewsContext(store: ReviewStore) {
  return (base: SubgraphContext): ReviewsContext => ({
    ...base,
    store,
    reviewsById: new DataLoader(async (ids) => ids.map((id) => store.get(id) ?? null)),
  });
}

export const resolvers: GraphQLResolverMap<ReviewsContext> = {
  DateTime: DateTimeScalar,
  Query: {
    review: (_: unknown, args: { id: string }, ctx: ReviewsContext) => ctx.reviewsById.load(args.id),
  },
  Mutation: {
    addReview: (_: unknown, { input }: { input: AddReviewInput }, ctx: ReviewsContext) => {
      if (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5) {
        throw invalid('rating', `rating must be an integer from 1 to 5, got ${input.rating}`);
      }
      const body = input.body.trim();
      if (body.length === 0) throw invalid('body', 'body must not be empty');
      if (body.length > MAX_BODY_LENGTH) {
        throw invalid('body', `body must be at most ${MAX_BODY_LENGTH} characters, got ${body.length}`);
      }
      if (!isCatalogProductId(input.productId)) throw invalid('productId', `unknown product "${input.productId}"`);
      if (!isSeedUserId(input.authorId)) throw invalid('authorId', `unknown user "${input.authorId}"`);
      const review = ctx.store.add({ productId: input.productId, authorId: input.authorId, rating: input.rating, body });
      ctx.logger.info({ reviewId: review.id, productId: review.productId }, 'review added');
      return review;
    },
  },
  Review: {
    __resolveReference: (reference: { id: string }, ctx: ReviewsContext) => ctx.reviewsById.load(reference.id),
    author: (review: ReviewRecord) => ({ __typename: 'User', id: review.authorId }),
    product: (review: ReviewRecord) => ({ __typename: 'Product', id: review.productId }),
  },
  User: {
    // Entity stubs: every id is a valid reference here; accounts decides whether the user exists.
    __resolveReference: (reference: { id: string }) => ({ id: reference.id }),
    reviews: (user: { id: string }, args: PageArgs, ctx: ReviewsContext) =>
      paginate(ctx.store.forAuthor(user.id), 'review', args.first, args.after).page,
  },
  Product: {
    __resolveReference: (reference: { id: string }) => ({ id: reference.id }),
    reviews: (product: { id: string }, args: PageArgs, ctx: ReviewsContext) =>
      paginate(ctx.store.forProduct(product.id), 'review', args.first, args.after).page,
    reviewCount: (product: { id: string }, _: unknown, ctx: ReviewsContext) => ctx.store.forProduct(product.id).length,
    averageRating: (product: { id: string }, _: unknown, ctx: ReviewsContext) => {
      const reviews = ctx.store.forProduct(product.id);
      if (reviews.length === 0) return null;
      return Math.round((reviews.reduce((sum, r) => sum + r.rating, 0) / reviews.length) * 100) / 100;
    },
  },
};
