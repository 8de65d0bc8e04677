// Where a file:// store keeps each key. The first DIR_COMPONENTS components of a key are
// directories; the rest is one file name with each '/' written as '\' (no key holds a
// backslash), so the block key blocks/<mount>/<inode>/<generation>/<chunk>/<block> is the file
// `<generation>\<chunk>\<block>` in its inode's directory: one directory per file instead of
// three, so a new small file's first put makes one mkdir and a cold read walks one directory.
// A tail too long for one file name stays nested (a directory per component), which is also how
// every key was kept before this layout: reads fall back to the nested path, so older stores read
// unchanged.

import { join } from "node:path";

/** Components kept as directories before the tail is flattened into one name. */
export const DIR_COMPONENTS = 3;
/** Stands for '/' inside a flattened tail. */
export const FLAT_SEPARATOR = "\\";
/** NAME_MAX of Linux filesystems, in UTF-8 bytes. */
const NAME_MAX_BYTES = 255;

/** The path components of `key` in the nested layout: one directory per key component. */
export function nestedPath(key: string): string[] {
  return key.split("/");
}

/** The path components of `key` in the flat layout, or null when it is the nested path. */
export function flatPath(key: string): string[] | null {
  const components = key.split("/");
  if (components.length <= DIR_COMPONENTS + 1) return null;
  const tail = components.slice(DIR_COMPONENTS).join(FLAT_SEPARATOR);
  if (Buffer.byteLength(tail, "utf8") > NAME_MAX_BYTES) return null;
  return [...components.slice(0, DIR_COMPONENTS), tail];
}

/** Where a put writes `key`. */
export function writePath(key: string): string[] {
  return flatPath(key) ?? nestedPath(key);
}

/** The key a file named `name` in the directory holding keys `dirKey` (ends in '/') stands for. */
export function keyOfFile(dirKey: string, depth: number, name: string): string | null {
  if (!name.includes(FLAT_SEPARATOR)) return dirKey + name;
  // A flattened tail lives only at DIR_COMPONENTS deep; anywhere else the name is no key of ours.
  return depth === DIR_COMPONENTS ? dirKey + name.split(FLAT_SEPARATOR).join("/") : null;
}

/** The file a put of `key` writes under the store root `root` (tools and tests that reach past the store). */
export function objectFilePath(root: string, key: string): string {
  return join(root, ...writePath(key));
}
