// Lists a file:// store's keys in S3 order (UTF-8 bytes) without reading the whole tree: start at
// the deepest directory the prefix names, and skip every directory whose keys all fall outside
// the prefix or at or before the cursor. Below DIR_COMPONENTS (see layout.ts) a directory's keys
// are flattened file names, read and sorted together with any nested directories left there.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { compareKeys, TEMP_COMPONENT_PREFIX } from "../keys.ts";
import { DIR_COMPONENTS, keyOfFile } from "./layout.ts";

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
  const components = options.prefix.split("/").slice(0, -1).slice(0, DIR_COMPONENTS);
  const start = components.map((c) => `${c}/`).join("");
  yield* walkDir(options, start, components.length);
}

async function* walkDir(options: WalkOptions, dirKey: string, depth: number): AsyncGenerator<string> {
  if (depth >= DIR_COMPONENTS) {
    // Flattened files and any nested directories interleave in key order: sort them all.
    let last = "";
    for (const key of (await keysUnder(options.root, dirKey, depth)).sort(compareKeys)) {
      // A key kept in both layouts (rewritten since the flat one) is listed once.
      if (key !== last && wantsKey(options, key)) yield key;
      last = key;
    }
    return;
  }
  for (const entry of await sortedEntries(options.root, dirKey, depth)) {
    if (entry.isDir) {
      if (wantsDir(options, entry.key)) yield* walkDir(options, entry.key, depth + 1);
    } else if (wantsKey(options, entry.key)) {
      yield entry.key;
    }
  }
}

function wantsKey({ prefix, after }: WalkOptions, key: string): boolean {
  return key.startsWith(prefix) && compareKeys(key, after) > 0;
}

function wantsDir({ prefix, after }: WalkOptions, dirKey: string): boolean {
  const overlapsPrefix = dirKey.startsWith(prefix) || prefix.startsWith(dirKey);
  // Every key under dirKey is greater than dirKey; all of them are at or before `after` exactly
  // when `after` sorts above dirKey without lying inside it.
  const allBeforeCursor = compareKeys(dirKey, after) < 0 && !after.startsWith(dirKey);
  return overlapsPrefix && !allBeforeCursor;
}

/** Every key at or below the directory holding `dirKey`, unsorted. */
async function keysUnder(root: string, dirKey: string, depth: number): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of await entriesOf(root, dirKey, depth)) {
    if (entry.isDir) keys.push(...(await keysUnder(root, entry.key, depth + 1)));
    else keys.push(entry.key);
  }
  return keys;
}

async function sortedEntries(root: string, dirKey: string, depth: number): Promise<Entry[]> {
  return (await entriesOf(root, dirKey, depth)).sort((a, b) => compareKeys(a.key, b.key));
}

async function entriesOf(root: string, dirKey: string, depth: number): Promise<Entry[]> {
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
    if (dirent.isDirectory()) {
      entries.push({ key: `${dirKey}${dirent.name}/`, isDir: true });
    } else if (dirent.isFile()) {
      const key = keyOfFile(dirKey, depth, dirent.name);
      if (key !== null) entries.push({ key, isDir: false });
    }
  }
  return entries;
}
