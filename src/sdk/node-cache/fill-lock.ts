import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { LIMITS } from "../../types/index.ts";

// O_CREAT|O_EXCL lock files holding the holder's pid. Used for fills (locks/<h>) and for
// eviction (evict.lock). A lock is stale when its pid is dead or it is older than
// nodeCacheLockStaleMs (a hung holder, or a pid from another host's namespace): then anyone may
// remove it. Removing a stale lock races with another remover, which is harmless: both then try
// O_EXCL again and exactly one wins.

/** True when this process now holds the lock at `path`. */
export function tryLock(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * tryLock off the event loop: creating a file costs a millisecond on some disks, and a cold epoch
 * takes one lock per block, many at once.
 */
export async function tryLockAsync(path: string): Promise<boolean> {
  try {
    const handle = await open(path, "wx");
    try {
      await handle.write(String(process.pid));
    } finally {
      await handle.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

export function unlock(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Removes the lock at `path` when it is stale; true when it is gone (stale or already released). */
export function clearIfStale(path: string, nowMs = Date.now()): boolean {
  let ageMs: number;
  let pid: number;
  try {
    ageMs = nowMs - statSync(path).mtimeMs;
    pid = Number(readFileSync(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
  if (ageMs <= LIMITS.nodeCacheLockStaleMs && (!Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid))) return false;
  unlock(path);
  return true;
}

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
