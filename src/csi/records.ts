import type { NoKVClient } from "../sdk/index.ts";
import { FsError } from "../types/index.ts";

// What the controller remembers, kept in metad itself so any controller replica (or a restarted
// one) sees it: a volume's record is an extended attribute on the volume's directory (the mount
// root for a whole-mount volume); a snapshot's record is an attribute on its entry directory in
// the registry mount (registry.ts).

export const RECORD_XATTR = "user.nokv.csi";

export interface VolumeRecord {
  /** The CO's name for the volume (CreateVolume is idempotent by it). */
  name: string;
  capacityBytes: number;
  createdMs: number;
  /** The content source it was created from, as a CSI id. */
  source?: { snapshot?: string; volume?: string };
}

export interface SnapshotRecord {
  name: string;
  snapshotId: string;
  sourceVolumeId: string;
  sizeBytes: number;
  createdMs: number;
}

/** The record on the directory at `path`, null when it has none; ENOENT when the path is gone. */
export async function readRecord<T>(client: NoKVClient, path: string): Promise<T | null> {
  const stats = await client.stat(path);
  try {
    return JSON.parse(new TextDecoder().decode(await client.inode.getxattr(stats.ino, RECORD_XATTR))) as T;
  } catch (err) {
    if (err instanceof FsError && err.code === "ENODATA") return null;
    throw err;
  }
}

export async function writeRecord(client: NoKVClient, path: string, record: VolumeRecord | SnapshotRecord): Promise<void> {
  const stats = await client.stat(path);
  await client.inode.setxattr(stats.ino, RECORD_XATTR, new TextEncoder().encode(JSON.stringify(record)));
}

export async function removeRecord(client: NoKVClient, path: string): Promise<void> {
  const stats = await client.stat(path);
  try {
    await client.inode.removexattr(stats.ino, RECORD_XATTR);
  } catch (err) {
    if (!(err instanceof FsError && err.code === "ENODATA")) throw err;
  }
}

/** Runs calls for the same key one after another (CreateVolume and friends by name). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(fn);
    this.tails.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }
}
