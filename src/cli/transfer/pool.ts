// Runs work over items with at most `concurrency` in flight. On the first failure it starts no
// more items, waits for those in flight (nothing outlives the command), and throws that failure.

export async function runPool<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  for (const item of items) {
    while (running.size >= concurrency && !failure) await Promise.race(running);
    if (failure) break;
    const task: Promise<void> = work(item)
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all(running);
  if (failure) throw (failure as { error: unknown }).error;
}
