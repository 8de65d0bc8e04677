import { readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { FsError, LIMITS } from "../../types/index.ts";
import type { NotifierAck, NotifierMessage } from "./device-notifier.ts";
import {
  MNT_DETACH, MS_NODEV, MS_NOSUID, MS_RDONLY, O_CLOEXEC, O_RDWR, errnoName, sysClose, sysGetuid, sysMount, sysOpen,
  sysUmount2, sysWrite, sysWritev,
} from "./libc.ts";
import { fusermountMount, fusermountUnmount } from "./fusermount.ts";
import { Notifier } from "./notify.ts";
import type { RawFileSystem } from "./raw-fs.ts";
import { IdleCollector } from "./idle-collector.ts";
import { FuseSession } from "./session.ts";
import { SignalReader, type SignalReaderCounts } from "./signal-reader.ts";

// The device loop: open /dev/fuse and mount it (mount(2) as root, fusermount3 otherwise), then
// read requests on the main thread as the kernel signals them (signal-reader.ts) and run one
// thread beside it, a notifier that writes invalidations. Replies are written from the main
// thread, which never blocks: a read never waits (the fd is non-blocking), a reply write never
// waits on a lock, an invalidation may.

export interface MountOptions {
  mountpoint: string;
  fs: RawFileSystem;
  readOnly?: boolean;
  /** Let users other than the mounting one use the mount (needs root, or user_allow_other). */
  allowOther?: boolean;
  /** Shown in /proc/mounts as the source. */
  source?: string;
}

/** How long unmount waits for the kernel to end the session before aborting the connection. */
const UNMOUNT_GRACE_MS = 2_000;
const FUSECTL_DIR = "/sys/fs/fuse/connections";

export class FuseMount {
  readonly session: FuseSession;
  readonly notifier: Notifier;
  /** Resolves when the session ends (unmounted, aborted); never rejects. */
  readonly closed: Promise<{ errno: number }>;
  private readonly reader: SignalReader;
  /** One full collection after each burst of requests, once the mount is idle. */
  readonly idleCollector: IdleCollector;
  /** Requests read from the device, and how many of them the backstop poll found instead of a signal. */
  get deviceReads(): SignalReaderCounts {
    return { ...this.reader.counts };
  }
  private readonly notifierThread: Worker;
  private readonly ready: Promise<void>;
  private fdOpen = true;
  private stopping: Promise<void> | null = null;
  /** The mount's device ("major:minor"): its minor names the fusectl connection, the pair its bdi. */
  private readonly device: string | null;

  private constructor(
    readonly mountpoint: string,
    private readonly fd: number,
    fs: RawFileSystem,
    /** Mounted with mount(2); otherwise fusermount3 made the mount and must remove it. */
    private readonly privileged: boolean,
  ) {
    this.device = deviceOf(mountpoint);
    this.session = new FuseSession(fs, (parts) => this.writeReply(parts), LIMITS.fuseMaxWriteBytes);
    this.notifierThread = new Worker(new URL("./device-notifier.ts", import.meta.url));
    this.notifierThread.postMessage({ kind: "start", fd } satisfies NotifierMessage);
    this.notifier = new Notifier(
      (frame) => {
        const bytes = frame.buffer as ArrayBuffer;
        this.notifierThread.postMessage({ kind: "notify", bytes } satisfies NotifierMessage, [bytes]);
      },
      () => this.session.conn?.minor ?? null,
      (frame) => (this.fdOpen ? sysWrite(this.fd, frame).errno : -1),
    );
    this.notifierThread.onmessage = (event: MessageEvent<NotifierAck>) => {
      if (event.data.kind === "written") this.notifier.written();
    };
    let onReady!: () => void;
    this.ready = new Promise((resolve) => (onReady = resolve));
    let onClosed!: (outcome: { errno: number }) => void;
    this.closed = new Promise((resolve) => (onClosed = resolve));
    this.reader = new SignalReader(
      fd,
      (request, done) => {
        const wasReady = this.session.conn !== null;
        void this.session
          .dispatch(request)
          .then(
            () => {
              if (!wasReady && this.session.conn !== null) onReady();
            },
            (err: unknown) => console.error("nokv fuse: dispatch failed:", err),
          )
          .finally(done);
      },
      (errno) => onClosed({ errno }),
    );
    this.reader.start();
    const { counts } = this.session;
    this.idleCollector = new IdleCollector(() => counts.ok + counts.errors + counts.unknown + counts.malformed);
  }

  /**
   * Mounts (mount(2) as root, else through fusermount3) and resolves once the kernel and the
   * filesystem have finished INIT.
   */
  static async mount(options: MountOptions): Promise<FuseMount> {
    // mountinfo names the mountpoint by its real path; so do we, to find our mount there later.
    const mountpoint = realpathSync(options.mountpoint);
    if (!statSync(mountpoint).isDirectory()) throw new FsError("ENOTDIR", `mountpoint ${mountpoint} is not a directory`);
    const privileged = sysGetuid() === 0;
    const fd = privileged ? mountWithSyscall(mountpoint, options) : await fusermountMount({ mountpoint, options: fusermountOptions(options) });
    const mount = new FuseMount(mountpoint, fd, options.fs, privileged);
    const outcome = await Promise.race([mount.ready.then(() => "ready" as const), mount.closed.then(() => "closed" as const)]);
    if (outcome === "closed") {
      await mount.unmount();
      throw new FsError("EPROTO", `FUSE INIT with the kernel failed on ${mountpoint}`);
    }
    setReadahead(mount.device, LIMITS.fuseReadaheadBytes);
    return mount;
  }

  private writeReply(parts: readonly Uint8Array[]): void {
    if (!this.fdOpen) return;
    // ENOENT: the request was interrupted and the kernel dropped it; nothing to do.
    if (parts.length === 1) sysWrite(this.fd, parts[0]!);
    else sysWritev(this.fd, parts);
  }

  /**
   * Lazily unmounts (MNT_DETACH: a busy mount detaches now and ends when its last user leaves),
   * waits for the kernel to end the session, and aborts the connection if it does not in time.
   */
  unmount(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    if (this.privileged) sysUmount2(this.mountpoint, MNT_DETACH);
    else await fusermountUnmount(this.mountpoint);
    const ended = await Promise.race([this.closed.then(() => true), Bun.sleep(UNMOUNT_GRACE_MS).then(() => false)]);
    if (!ended) abortConnection(this.device);
    await Promise.race([this.closed, Bun.sleep(UNMOUNT_GRACE_MS)]);
    this.fdOpen = false;
    this.reader.stop();
    this.idleCollector.stop();
    this.notifierThread.terminate();
    sysClose(this.fd);
  }
}

/** mount(2) with the device's fd in the options, as root may. */
function mountWithSyscall(mountpoint: string, options: MountOptions): number {
  const opened = sysOpen("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (opened.value < 0) throw new FsError("EIO", `open /dev/fuse: ${errnoName(opened.errno)}`);
  const fd = opened.value;
  const data = [`fd=${fd}`, "rootmode=40000", "user_id=0", "group_id=0", "default_permissions", ...(options.allowOther ? ["allow_other"] : [])].join(",");
  const mounted = sysMount({ source: options.source ?? "nokv", target: mountpoint, fsType: "fuse.nokv", flags: MS_NOSUID | MS_NODEV | (options.readOnly ? MS_RDONLY : 0), data });
  if (mounted.value < 0) {
    sysClose(fd);
    throw new FsError("EIO", `mount ${mountpoint}: ${errnoName(mounted.errno)}`);
  }
  return fd;
}

/**
 * fusermount3 adds fd, rootmode, user_id and group_id itself. A private mount (no allow_other)
 * skips default_permissions: only its user can reach it, and NoKV's owners (root, mostly) are
 * not that user, so the kernel would refuse them everything. Shared mounts keep the checks.
 */
function fusermountOptions(options: MountOptions): string[] {
  const shared = options.allowOther ? ["allow_other", "default_permissions"] : [];
  return ["nosuid", "nodev", options.readOnly ? "ro" : "rw", `fsname=${options.source ?? "nokv"}`, "subtype=nokv", ...shared];
}

/** The device ("major:minor") of the newest mount at `mountpoint`, from mountinfo (no request into the mount). */
function deviceOf(mountpoint: string): string | null {
  let found: string | null = null;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (unescapeMountinfo(fields[4] ?? "") === mountpoint && line.includes(" - fuse.nokv ")) found = fields[2]!;
  }
  return found;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes (\040). */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The kernel reads ahead 128 KiB on a FUSE mount unless told otherwise, and INIT cannot raise
 * it; the mount's bdi can. Reading ahead a whole block lets sequential reads arrive in large
 * requests. Best effort: without it reads are only slower.
 */
function setReadahead(device: string | null, bytes: number): void {
  if (device === null) return;
  try {
    writeFileSync(`/sys/class/bdi/${device}/read_ahead_kb`, String(Math.floor(bytes / 1024)));
  } catch {
    // Not writable here (a container without sysfs write access): keep the kernel default.
  }
}

/** Ends a connection the kernel keeps alive for a busy detached mount: its users get ENOTCONN. */
function abortConnection(device: string | null): void {
  if (device === null) return;
  const abortFile = `${FUSECTL_DIR}/${device.split(":")[1]}/abort`;
  try {
    if (!statSync(abortFile, { throwIfNoEntry: false })) sysMount({ source: "fusectl", target: FUSECTL_DIR, fsType: "fusectl", flags: 0, data: "" });
    writeFileSync(abortFile, "1");
  } catch {
    // Nothing more to do: the connection ends when the last user leaves.
  }
}
