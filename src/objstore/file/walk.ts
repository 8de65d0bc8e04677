// Lists a file:// store's keys in S3 order (UTF-8 bytes) without reading the whole tree: start at
// the deepest directory the prefix names, and skip every directory whose keys all fall outside
// the prefix or at or before the cursor.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { compareKeys, TEMP_COMPONENT_PREFIX } from "../keys.ts";

export interface WalkOptions {
  root: string;
  /** Checked by checkPrefix: complete components, then a possibly partial last one. */
  prefix: string;
  /** Only keys strictly after this one; "" for all. */
  after: string;
}

interface Entry {
  /** A file's key, or a directory's key prefix ending in '/': the string its keys all start with. */
  key: string;
  isDir: boolean;
}

/** Yields matching keys in order; the caller stops iterating when its page is full. */
export async function* walkKeys(options: WalkOptions): AsyncGenerator<string> {
  const start = options.prefix.slice(0, options.prefix.lastIndexOf("/") + 1);
  yield* walkDir(options, start);
}

async function* walkDir(options: WalkOptions, dirKey: string): AsyncGenerator<string> {
  for (const entry of await sortedEntries(options.root, dirKey)) {
    if (entry.isDir) {
      if (wantsDir(options, entry.key)) yield* walkDir(options, entry.key);
    } else if (entry.key.startsWith(options.prefix) && compareKeys(entry.key, options.after) > 0) {
      yield entry.key;
    }
  }
}

function wantsDir({ prefix, after }: WalkOptions, dirKey: string): boolean {
  const overlapsPrefix = dirKey.startsWith(prefix) || prefix.startsWith(dirKey);
  // Every key under dirKey is greater than dirKey; all of them are at or before `after` exactly
  // when `after` sorts above dirKey without lying inside it.
  const allBeforeCursor = compareKeys(dirKey, after) < 0 && !after.startsWith(dirKey);
  return overlapsPrefix && !allBeforeCursor;
}

async function sortedEntries(root: string, dirKey: string): Promise<Entry[]> {
  let names;
  try {
    names = await readdir(join(root, ...dirKey.split("/")), { withFileTypes: true });
  } catch (err) {
    // A prefix naming a missing directory, or one under a file, simply matches nothing.
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
  const entries: Entry[] = [];
  for (const dirent of names) {
    // Temp files of in-flight puts are not objects; keys can never start with the marker.
    if (dirent.name.startsWith(TEMP_COMPONENT_PREFIX)) continue;
    if (dirent.isDirectory()) entries.push({ key: `${dirKey}${dirent.name}/`, isDir: true });
    else if (dirent.isFile()) entries.push({ key: `${dirKey}${dirent.name}`, isDir: false });
  }
  return entries.sort((a, b) => compareKeys(a.key, b.key));
}
