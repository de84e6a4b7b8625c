import { GraphQLError } from 'graphql';

export const MAX_PAGE_SIZE = 100;

/** Opaque cursors: base64url of `<kind>:<id>`, so clients cannot build or depend on them. */
export function encodeCursor(kind: string, id: string): string {
  return Buffer.from(`${kind}:${id}`, 'utf8').toString('base64url');
}

function badInput(field: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });
}

/**
 * Cursor pagination over an ordered list: items after the cursor's item, at most `first`.
 * Rejects a negative or too large `first` and a cursor that is malformed or of another kind.
 */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  kind: string,
  first: number | null | undefined,
  after: string | null | undefined,
): { page: T[]; hasNextPage: boolean } {
  const size = first ?? 20;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badInput('first', `first must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  let start = 0;
  if (after !== null && after !== undefined) {
    const decoded = Buffer.from(after, 'base64url').toString('utf8');
    const prefix = `${kind}:`;
    const index = decoded.startsWith(prefix) ? items.findIndex((item) => item.id === decoded.slice(prefix.length)) : -1;
    if (index === -1) throw badInput('after', 'after is not a valid cursor for this list');
    start = index + 1;
  }
  const page = items.slice(start, start + size);
  return { page, hasNextPage: start + size < items.length };
}
