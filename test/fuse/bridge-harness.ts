import type { EntryOut, RawFileSystem, RequestContext } from "../../src/fuse/kernel/index.ts";

// Helpers for tests that drive the inode layer directly beside another client.

const VISIBLE_TIMEOUT_MS = 5_000;

/** Polls `ready` until it holds (the mount's background work and watch events take a moment). */
export async function until(ready: () => Promise<boolean>, timeoutMs = VISIBLE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

/**
 * The entry of a name another client just made. A mount that knows the directory's listing
 * answers from it until the change's watch event arrives (milliseconds), as the kernel's cached
 * entries do, so the name may take that long to show.
 */
export async function lookupVisible(fs: Required<RawFileSystem>, ctx: RequestContext, parent: number, name: string): Promise<EntryOut> {
  let entry!: EntryOut;
  await until(async () => (entry = await fs.lookup(ctx, parent, name)).nodeid !== 0);
  return entry;
}
