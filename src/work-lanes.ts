/**
 * Runs `work` on each item, at most `width` at once, taking items in list order. After the
 * first failure no new item is started; the ones running finish, then that failure is
 * thrown. Work that must go on past a failed item catches inside `work`.
 */
export async function inLanes<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async () => {
    while (next < items.length && !failed) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, width), items.length) }, lane));
  if (failed) throw failure;
}
