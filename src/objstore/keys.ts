// Key rules and argument checks every backend shares, so a key valid on one backend is valid on
// all of them and a store's contents can move between backends unchanged.
import { FsError, LIMITS } from "../types/index.ts";
import type { ByteRange, ListOptions } from "./object-store.ts";

/**
 * file:// stores write temp files named with this prefix next to their targets; keys may not use
 * it on any backend, so listing can skip temp files without hiding a real key.
 */
export const TEMP_COMPONENT_PREFIX = ".nokv-tmp-";

const SHOWN_KEY_MAX_CHARS = 200;

function invalid(what: string, value: string, why: string): FsError {
  const shown = value.length > SHOWN_KEY_MAX_CHARS ? `${value.slice(0, SHOWN_KEY_MAX_CHARS)}...` : value;
  return new FsError("EINVAL", `${what} ${JSON.stringify(shown)}: ${why}`, { path: shown });
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Character rules shared by keys, prefixes and list cursors. Returns why the text fails, or null. */
function textProblem(text: string): string | null {
  if (!text.isWellFormed()) return "not well-formed Unicode (lone surrogate)";
  if (text.includes("\0")) return "contains NUL";
  if (text.includes("\\")) return "contains a backslash";
  if (text.startsWith("/")) return "starts with '/'";
  if (utf8Bytes(text) > LIMITS.objectKeyMaxBytes) return `longer than ${LIMITS.objectKeyMaxBytes} bytes`;
  return null;
}

function componentProblem(component: string): string | null {
  if (component === "") return "has an empty component";
  if (component === "." || component === "..") return `has a '${component}' component`;
  if (component.startsWith(TEMP_COMPONENT_PREFIX)) return `has a component starting with '${TEMP_COMPONENT_PREFIX}' (reserved)`;
  if (utf8Bytes(component) > LIMITS.objectKeyComponentMaxBytes) {
    return `has a component longer than ${LIMITS.objectKeyComponentMaxBytes} bytes`;
  }
  return null;
}

/** Throws EINVAL naming the key unless it is a valid object key. */
export function checkKey(key: string): void {
  if (typeof key !== "string" || key === "") throw invalid("object key", String(key), "empty");
  const problem = textProblem(key) ?? firstProblem(key.split("/"));
  if (problem) throw invalid("object key", key, problem);
}

/**
 * A list prefix: "" or complete components followed by a possibly partial last one
 * ("blocks/7/" and "blocks/7" are both fine; "blocks/../x" is not).
 */
export function checkPrefix(prefix: string): void {
  const problem = textProblem(prefix) ?? firstProblem(prefix.split("/").slice(0, -1));
  if (problem) throw invalid("list prefix", prefix, problem);
}

function firstProblem(components: string[]): string | null {
  for (const component of components) {
    const problem = componentProblem(component);
    if (problem) return problem;
  }
  return null;
}

/** Checks list options and returns the page size to use. */
export function checkListOptions(options: ListOptions | undefined): number {
  const after = options?.after;
  if (after !== undefined) {
    const problem = typeof after === "string" ? textProblem(after) : "not a string";
    if (problem) throw invalid("list cursor", String(after), problem);
  }
  const limit = options?.limit ?? LIMITS.objectListPageDefaultKeys;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMITS.objectListPageMaxKeys) {
    throw new FsError("EINVAL", `list limit ${limit} outside 1..${LIMITS.objectListPageMaxKeys}`);
  }
  return limit;
}

export function checkRange(key: string, range: ByteRange): void {
  const { offsetBytes, lengthBytes } = range;
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(offsetBytes) || !ok(lengthBytes)) {
    throw new FsError("EINVAL", `range ${offsetBytes}+${lengthBytes} of ${JSON.stringify(key)}: not non-negative integers`, { path: key });
  }
}

export function checkObjectSize(key: string, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new FsError("EINVAL", `object ${JSON.stringify(key)}: bytes not a Uint8Array`, { path: key });
  if (bytes.byteLength > LIMITS.objectMaxBytes) {
    throw new FsError("EFBIG", `object ${JSON.stringify(key)}: ${bytes.byteLength} bytes, max ${LIMITS.objectMaxBytes}`, { path: key });
  }
}

/**
 * UTF-8 byte order, the order S3 lists in. JavaScript's `<` compares UTF-16 units, which differs
 * only where a surrogate (U+10000 and up) meets U+E000..U+FFFF; remap those two bands.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return byteOrderRank(x) - byteOrderRank(y);
  }
  return a.length - b.length;
}

function byteOrderRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}
