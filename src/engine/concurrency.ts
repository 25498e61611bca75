/**
 * Bounded concurrency for the engine's own loops (reading files, running a
 * wave of writes); the HTTP layer limits requests per target on its own.
 */

/** `items.map(fn)` with at most `limit` calls pending at once, started in order; results keep the input order. */
export async function mapInOrder<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
