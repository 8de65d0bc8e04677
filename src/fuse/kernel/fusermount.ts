import { FsError } from "../../types/index.ts";
import { errnoName, sysClose, sysRecvFd, sysSocketpair } from "./libc.ts";

// Mounting without root: the setuid helper fusermount3 opens /dev/fuse, mounts it, and hands
// the device back over a unix socket (SCM_RIGHTS) named by _FUSE_COMMFD, as libfuse does.

const FUSERMOUNT = "fusermount3";
/** fusermount3 mounts and exits at once; a hung one must not hang the mount command. */
const FUSERMOUNT_TIMEOUT_MS = 10_000;

export function fusermountPath(): string | null {
  return Bun.which(FUSERMOUNT);
}

/** Mounts through fusermount3 and returns the /dev/fuse descriptor it passed back. */
export async function fusermountMount(args: { mountpoint: string; options: string[] }): Promise<number> {
  const helper = fusermountPath();
  if (!helper) throw new FsError("EPERM", "mounting needs root or fusermount3 (apt-get install fuse3)");
  const pair = sysSocketpair();
  if (pair.errno !== 0) throw new FsError("EIO", `socketpair: ${errnoName(pair.errno)}`);
  const [ours, theirs] = pair.fds;
  try {
    // Their end becomes fd 3 in the helper; _FUSE_COMMFD tells it where to send the device.
    const proc = Bun.spawn([helper, "-o", args.options.join(","), "--", args.mountpoint], {
      stdio: ["ignore", "pipe", "pipe", theirs],
      env: { ...process.env, _FUSE_COMMFD: "3" },
    });
    sysClose(theirs);
    const timer = setTimeout(() => proc.kill("SIGKILL"), FUSERMOUNT_TIMEOUT_MS);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    const fd = sysRecvFd(ours);
    if (code !== 0 || fd === null) throw new FsError("EPERM", `${FUSERMOUNT} failed (exit ${code}): ${stderr.trim() || "no device passed back"}`);
    return fd;
  } finally {
    sysClose(ours);
  }
}

/** Lazily unmounts a mount fusermount3 made (umount2 needs root). */
export async function fusermountUnmount(mountpoint: string): Promise<boolean> {
  const helper = fusermountPath();
  if (!helper) return false;
  const proc = Bun.spawn([helper, "-u", "-z", "--", mountpoint], { stdio: ["ignore", "ignore", "ignore"] });
  return (await proc.exited) === 0;
}
