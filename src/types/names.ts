import { LIMITS } from "./limits.ts";
import { FsError } from "./errno.ts";

const encoder = new TextEncoder();

export function utf8Length(text: string): number {
  // Fast path: ASCII strings are one byte per code unit.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  }
  return text.length;
}

/** A directory entry name: 1..255 UTF-8 bytes, not `.` or `..`, no `/` or NUL, valid UTF-16. */
export function validateName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw new FsError("EINVAL", "name must be a string");
  if (name.length === 0) throw new FsError("EINVAL", "empty name");
  if (name === "." || name === "..") throw new FsError("EINVAL", `reserved name '${name}'`);
  if (name.includes("/")) throw new FsError("EINVAL", `name contains '/': ${JSON.stringify(name)}`);
  if (name.includes("\0")) throw new FsError("EINVAL", "name contains NUL");
  if (!name.isWellFormed()) throw new FsError("EINVAL", "name is not valid unicode");
  if (utf8Length(name) > LIMITS.nameMaxBytes) {
    throw new FsError("ENAMETOOLONG", `name is ${utf8Length(name)} bytes, limit ${LIMITS.nameMaxBytes}`);
  }
}

/**
 * Splits an absolute path into components: `//a/./b/` -> ["a", "b"]. `..` stays a component: the
 * resolver follows it physically (to the directory's parent), as POSIX does under symlinks.
 */
export function splitPath(path: unknown): string[] {
  if (typeof path !== "string") throw new FsError("EINVAL", "path must be a string");
  if (!path.startsWith("/")) throw new FsError("EINVAL", `path must be absolute: ${JSON.stringify(path)}`);
  if (path.includes("\0")) throw new FsError("EINVAL", "path contains NUL");
  if (utf8Length(path) > LIMITS.pathMaxBytes) {
    throw new FsError("ENAMETOOLONG", `path is over ${LIMITS.pathMaxBytes} bytes`);
  }
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") validateName(part);
    parts.push(part);
  }
  return parts;
}

/** Splits a symlink target: relative or absolute, `.` dropped, `..` kept for the resolver. */
export function splitTarget(target: string): string[] {
  return target.split("/").filter((part) => part !== "" && part !== ".");
}
