// The CSI messages as they arrive from grpc-js (see proto.ts): the spec's snake_case names,
// int64 as decimal strings, enums as numbers, absent messages as null and absent scalars, maps
// and lists as their defaults.

export type StringMap = Record<string, string>;

export const AccessMode = {
  UNKNOWN: 0,
  SINGLE_NODE_WRITER: 1,
  SINGLE_NODE_READER_ONLY: 2,
  MULTI_NODE_READER_ONLY: 3,
  MULTI_NODE_SINGLE_WRITER: 4,
  MULTI_NODE_MULTI_WRITER: 5,
  SINGLE_NODE_SINGLE_WRITER: 6,
  SINGLE_NODE_MULTI_WRITER: 7,
} as const;

export interface VolumeCapability {
  block?: object | null;
  mount?: { fs_type: string; mount_flags: string[]; volume_mount_group: string } | null;
  access_mode?: { mode: number } | null;
  access_type?: "block" | "mount";
}

export interface CapacityRange {
  required_bytes: string;
  limit_bytes: string;
}

export interface ContentSource {
  snapshot?: { snapshot_id: string } | null;
  volume?: { volume_id: string } | null;
  type?: "snapshot" | "volume";
}

export interface Volume {
  capacity_bytes: number;
  volume_id: string;
  volume_context: StringMap;
  content_source?: ContentSource | null;
}

export interface Snapshot {
  size_bytes: number;
  snapshot_id: string;
  source_volume_id: string;
  creation_time: { seconds: number; nanos: number };
  ready_to_use: boolean;
}

/** Whether an access mode allows no writer at all (the mount is then read-only). */
export function readOnlyMode(capability: VolumeCapability | null | undefined): boolean {
  const mode = capability?.access_mode?.mode;
  return mode === AccessMode.SINGLE_NODE_READER_ONLY || mode === AccessMode.MULTI_NODE_READER_ONLY;
}

/** Why NoKV cannot serve a capability, or null when it can (a filesystem, any access mode). */
export function unsupportedCapability(capability: VolumeCapability): string | null {
  if (capability.block) return "NoKV volumes are filesystems: block access is not supported";
  if (!capability.mount) return "a volume capability needs an access type (mount)";
  const fsType = capability.mount.fs_type;
  if (fsType !== "" && fsType !== "nokv" && fsType !== "fuse.nokv") return `fs_type '${fsType}' is not served (NoKV volumes are fuse.nokv)`;
  const mode = capability.access_mode?.mode ?? AccessMode.UNKNOWN;
  if (mode === AccessMode.UNKNOWN || mode > AccessMode.SINGLE_NODE_MULTI_WRITER) return `access mode ${mode} is not known`;
  return null;
}

/** A CSI int64 (a decimal string, or a number) as a number of bytes; 0 when absent. */
export function bytesOf(value: string | number | undefined | null): number {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
