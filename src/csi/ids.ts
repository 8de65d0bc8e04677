import { createHash } from "node:crypto";
import { LIMITS } from "../types/index.ts";
import { invalidArgument } from "./errors.ts";

// Volume and snapshot ids carry everything a later call needs to find the volume again (the
// controller keeps no table of its own): which NoKV mount, and where in it.
//   subdirectory volume  sub:<mount>:<absolute path>        sub:default:/volumes/pvc-1f2e
//   whole-mount volume   mnt:<mount>                        mnt:pvc-1f2e
//   snapshot             snap:<mount>:<snapshot>:<entry>    snap:default:12:snap-9a0b
// The mount name is percent-encoded (a mount name may hold ':'); paths hold no encoding.

export type VolumeRef = { layout: "subdir"; mount: string; path: string } | { layout: "mount"; mount: string; path: "/" };

export interface SnapshotRef {
  mount: string;
  /** NoKV's snapshot id within the mount. */
  snapshot: number;
  /** The registry entry (see registry.ts) that records the snapshot's name and source. */
  entry: string;
}

/**
 * A CO-given name as one path component: kept when short and plain, otherwise a digest (names are
 * up to 128 bytes of any UTF-8; directory and mount names are bounded and '/'-free).
 */
export function nameKey(name: string): string {
  if (Buffer.byteLength(name) <= LIMITS.csiPlainNameMaxBytes && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return name;
  return `h-${createHash("sha256").update(name).digest("hex").slice(0, 40)}`;
}

export function volumeId(ref: VolumeRef): string {
  const id = ref.layout === "mount" ? `mnt:${encodeURIComponent(ref.mount)}` : `sub:${encodeURIComponent(ref.mount)}:${ref.path}`;
  if (Buffer.byteLength(id) > LIMITS.csiIdMaxBytes) {
    throw invalidArgument(`volume id '${id}' would be ${Buffer.byteLength(id)} bytes, over CSI's ${LIMITS.csiIdMaxBytes}: shorten the StorageClass's mount or basePath parameter`);
  }
  return id;
}

/** The volume an id names, or null when it is not one of this driver's ids. */
export function parseVolumeId(id: string): VolumeRef | null {
  const whole = /^mnt:([^:]+)$/.exec(id);
  if (whole) {
    const mount = decode(whole[1]!);
    return mount === null ? null : { layout: "mount", mount, path: "/" };
  }
  const sub = /^sub:([^:]+):(\/.+)$/.exec(id);
  if (!sub) return null;
  const mount = decode(sub[1]!);
  const path = sub[2]!;
  if (mount === null || path.split("/").some((part, i) => (i > 0 && part === "") || part === "." || part === "..")) return null;
  return { layout: "subdir", mount, path };
}

export function snapshotId(ref: SnapshotRef): string {
  const id = `snap:${encodeURIComponent(ref.mount)}:${ref.snapshot}:${ref.entry}`;
  if (Buffer.byteLength(id) > LIMITS.csiIdMaxBytes) throw invalidArgument(`snapshot id '${id}' would be over CSI's ${LIMITS.csiIdMaxBytes} bytes: shorten the mount name`);
  return id;
}

export function parseSnapshotId(id: string): SnapshotRef | null {
  const m = /^snap:([^:]+):([1-9][0-9]{0,15}):([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(id);
  if (!m) return null;
  const mount = decode(m[1]!);
  const snapshot = Number(m[2]);
  if (mount === null || !Number.isSafeInteger(snapshot)) return null;
  return { mount, snapshot, entry: m[3]! };
}

function decode(text: string): string | null {
  try {
    const out = decodeURIComponent(text);
    return out === "" || out.includes("/") ? null : out;
  } catch {
    return null;
  }
}
