import type { DiffEntry, DiffPage } from "../types/index.ts";

// Agent workspaces on the client side: one side of a diff, and a diff as an async iterable that
// asks metad for one page at a time (a large tree never arrives as one reply).

/** A directory to compare: a live path, or a path as a snapshot saw it (relative to its root). */
export type DiffTarget = string | { path: string; snapshot?: number };

export interface DiffOptions {
  /** Entries per request (1..LIMITS.diffPageMaxEntries); the server's default when absent. */
  pageEntries?: number;
}

type Call = (op: string, args: Record<string, unknown>) => Promise<unknown>;

function side(target: DiffTarget, pathField: string, snapshotField: string): Record<string, unknown> {
  if (typeof target === "string") return { [pathField]: target };
  return { [pathField]: target.path, ...(target.snapshot === undefined ? {} : { [snapshotField]: target.snapshot }) };
}

export async function* diffPages(call: Call, a: DiffTarget, b: DiffTarget, options: DiffOptions): AsyncGenerator<DiffEntry> {
  const args = { ...side(a, "path", "snapshot"), ...side(b, "otherPath", "otherSnapshot"), ...(options.pageEntries === undefined ? {} : { limit: options.pageEntries }) };
  for (let cursor: string | null = ""; cursor !== null; ) {
    const page = (await call("diff", { ...args, cursor })) as DiffPage;
    yield* page.entries;
    cursor = page.nextCursor;
  }
}

export function diffLabel(target: DiffTarget): string {
  return typeof target === "string" ? target : target.path;
}
