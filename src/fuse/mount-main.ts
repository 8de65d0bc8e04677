import { writeSync } from "node:fs";
import { resolve } from "node:path";
import { connect, parseByteSize, type ConnectOptions, type NoKVClient } from "../sdk/index.ts";
import { FsError, LIMITS } from "../types/index.ts";
import { FuseMount } from "./kernel/index.ts";
import { fusermountPath, fusermountUnmount } from "./kernel/fusermount.ts";
import { MNT_DETACH, errnoName, sysGetuid, sysUmount2 } from "./kernel/libc.ts";
import { createNoKVFs, type NoKVFs } from "./inode/bridge.ts";
import { LiveSource } from "./inode/live-source.ts";
import { SnapshotSource } from "./inode/snapshot-source.ts";
import type { NodeSource } from "./inode/source.ts";

// `nokv-fs mount MOUNTPOINT [--server nokv://host:port] [--mount NAME] [--snapshot ID]
// [--read-only] [--allow-other]`: serves until unmounted or SIGINT/SIGTERM (then unmounts
// cleanly). `nokv-fs umount MOUNTPOINT` detaches a mount, also one whose server was killed.

export interface MountArgs {
  mountpoint: string;
  server: string;
  mount: string;
  snapshot: number | null;
  readOnly: boolean;
  allowOther: boolean;
  /** The node cache directory (also NOKV_CACHE_DIR, which the SDK reads itself). */
  cacheDir?: string;
  cacheMaxBytes?: number;
}

export const MOUNT_USAGE = "usage: nokv-fs mount MOUNTPOINT [--server nokv://host:port] [--mount NAME] [--snapshot ID] [--read-only] [--allow-other] [--cache-dir DIR] [--cache-max-bytes SIZE]";

export function parseMountArgs(argv: readonly string[]): MountArgs {
  const out: MountArgs = { mountpoint: "", server: "nokv://127.0.0.1:7777", mount: "default", snapshot: null, readOnly: false, allowOther: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new FsError("EINVAL", `${arg} needs a value; ${MOUNT_USAGE}`);
      return v;
    };
    if (arg === "--server") out.server = value();
    else if (arg === "--mount") out.mount = value();
    else if (arg === "--snapshot") out.snapshot = snapshotId(value());
    else if (arg === "--read-only") out.readOnly = true;
    else if (arg === "--allow-other") out.allowOther = true;
    else if (arg === "--cache-dir") out.cacheDir = resolve(value());
    else if (arg === "--cache-max-bytes") out.cacheMaxBytes = parseByteSize(value(), "--cache-max-bytes");
    else if (arg.startsWith("-") || out.mountpoint !== "") throw new FsError("EINVAL", `unexpected argument '${arg}'; ${MOUNT_USAGE}`);
    else out.mountpoint = resolve(arg);
  }
  if (out.mountpoint === "") throw new FsError("EINVAL", `no mountpoint; ${MOUNT_USAGE}`);
  return out;
}

function snapshotId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id < 1) throw new FsError("EINVAL", `--snapshot '${text}' is not a snapshot id`);
  return id;
}

async function openSource(client: NoKVClient, args: MountArgs): Promise<NodeSource> {
  if (args.snapshot === null) return new LiveSource(client, args.readOnly);
  return new SnapshotSource(await client.openSnapshot(args.snapshot));
}

/**
 * The mount's SDK connection: a small in-process block cache (LIMITS.fuseBlockCacheBytes), since
 * the kernel's page cache already keeps what files read, and the node cache as the flags say.
 */
export function connectOptions(args: MountArgs): ConnectOptions {
  return {
    mount: args.mount,
    cacheBytes: LIMITS.fuseBlockCacheBytes,
    ...(args.cacheDir === undefined ? {} : { cacheDir: args.cacheDir }),
    ...(args.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: args.cacheMaxBytes }),
  };
}

/** Mounts and serves; resolves with the exit code once the mount has ended. */
export async function runMount(argv: readonly string[]): Promise<number> {
  const args = parseMountArgs(argv);
  // Fail before connecting anywhere when this user cannot mount at all.
  if (sysGetuid() !== 0 && fusermountPath() === null) throw new FsError("EPERM", "mounting needs root or fusermount3 (apt-get install fuse3)");
  const client = await connect(args.server, connectOptions(args));
  let mount: FuseMount | null = null;
  const nokv = await createNoKVFs(await openSource(client, args)).catch(async (err) => {
    await client.close();
    throw err;
  });
  try {
    mount = await FuseMount.mount({ mountpoint: args.mountpoint, fs: nokv.fs, readOnly: args.readOnly || args.snapshot !== null, allowOther: args.allowOther, source: `nokv:${args.mount}` });
    nokv.attach(mount.notifier);
    const stop = () => void mount?.unmount();
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    const what = args.snapshot === null ? `mount '${args.mount}'` : `snapshot ${args.snapshot} of mount '${args.mount}'`;
    console.log(`nokv-fs: serving ${what} at ${mount.mountpoint}`);
    await mount.closed;
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    if (process.env.NOKV_FUSE_STATS) printStats(mount, nokv, client);
    console.log(`nokv-fs: unmounted ${mount.mountpoint}`);
    return 0;
  } finally {
    await mount?.unmount();
    await nokv.close();
    await client.close();
  }
}

/**
 * Per-opcode counts and mean handler time, the metad round trips behind them per op, and
 * invalidation counts, on stderr (NOKV_FUSE_STATS=1).
 */
function printStats(mount: FuseMount, nokv: NoKVFs, client: NoKVClient): void {
  const rows = [...mount.session.opStats].sort((a, b) => b[1].totalUs - a[1].totalUs);
  const lines = rows.map(([name, s]) => `nokv-fs: ${name.padEnd(12)} ${String(s.count).padStart(8)} requests, mean ${(s.totalUs / s.count).toFixed(0).padStart(6)} us\n`);
  for (const [op, s] of [...client.rpcStats()].sort((a, b) => b[1].totalUs - a[1].totalUs)) {
    const failed = s.failed > 0 ? `, ${s.failed} failed` : "";
    lines.push(`nokv-fs: metad ${op.padEnd(18)} ${String(s.calls).padStart(8)} calls, mean ${(s.totalUs / s.calls).toFixed(0).padStart(6)} us, max ${s.maxUs.toFixed(0)} us${failed}\n`);
  }
  const inval = nokv.invalidator?.counts;
  if (inval) lines.push(`nokv-fs: watch events ${inval.events}, invalidations sent ${inval.sent}, dropped ${mount.notifier.dropped}\n`);
  const reads = mount.deviceReads;
  lines.push(`nokv-fs: requests read ${reads.requests}, found by the backstop poll rather than a signal ${reads.polled}\n`);
  lines.push(`nokv-fs: full garbage collections when idle after a burst ${mount.idleCollector.collections}\n`);
  const local = nokv.state.local.counts;
  const ahead = nokv.state.prefetch.counts;
  const published = nokv.state.published.counts;
  lines.push(`nokv-fs: answered locally: ${local.negativeLookups} absent names, ${local.dirGetattrs} dir and ${local.fileGetattrs} file getattrs, ${local.xattrMisses} xattrs; files fetched ahead ${ahead.fetched}, reads served from them ${ahead.served}, stored in the kernel's page cache ${ahead.stored}; own small files kept after close ${published.kept}, reads served from them ${published.served}\n`);
  // Synchronously: the process exits right after, and a buffered write to a pipe would be lost.
  writeSync(2, lines.join(""));
}

/**
 * Detaches the mount at `mountpoint` (lazily: a busy mount goes when its last user leaves); as
 * root with umount2, otherwise through fusermount3, which lets users remove their own mounts.
 */
export async function runUmount(mountpoint: string): Promise<void> {
  // No realpath: resolving a path inside a dead FUSE mount fails with ENOTCONN.
  const target = resolve(mountpoint);
  if (sysGetuid() !== 0) {
    if (!(await fusermountUnmount(target))) throw new FsError("EPERM", `umount ${target}: fusermount3 -u failed (or is not installed)`);
    return;
  }
  const result = sysUmount2(target, MNT_DETACH);
  if (result.value < 0) throw umountError(target, result.errno);
}

/** umount2's errno in words: EINVAL there means "nothing is mounted at this path". */
function umountError(target: string, errno: number): FsError {
  if (errno === 1) return new FsError("EPERM", `${target}: only root may unmount it`);
  if (errno === 22) return new FsError("EINVAL", `${target} is not a mount point`);
  if (errno === 2) return new FsError("ENOENT", `${target} does not exist`);
  if (errno === 16) return new FsError("EBUSY", `${target} is busy`);
  return new FsError("EIO", `umount ${target} failed: ${errnoName(errno)}`);
}

if (import.meta.main) {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === "mount") process.exit(await runMount(rest));
    else if (command === "umount" && rest.length === 1) await runUmount(rest[0]!);
    else throw new FsError("EINVAL", `${MOUNT_USAGE}\n       nokv-fs umount MOUNTPOINT`);
  } catch (err) {
    console.error(`nokv-fs: ${(err as Error).message}`);
    process.exit(1);
  }
}
