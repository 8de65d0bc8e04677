// Helpers for the wire tests: a seeded generator, so a failing fuzz case reproduces exactly.
import { FsError, type ErrnoCode } from "../types/errno.ts";

export { seededRandom } from "../types/random.ts";

export function randomInt(random: () => number, maxExclusive: number): number {
  return Math.floor(random() * maxExclusive);
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = randomInt(random, 256);
  return bytes;
}

/** The errno code a call threw, or "none"; a non-FsError is rethrown so the test fails on it. */
export function codeOf(fn: () => unknown): ErrnoCode | "none" {
  try {
    fn();
    return "none";
  } catch (err) {
    if (err instanceof FsError) return err.code;
    throw err;
  }
}
