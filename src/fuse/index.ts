export { FuseMount, type MountOptions, type RawFileSystem } from "./kernel/index.ts";
export { createNoKVFs, type NoKVFs } from "./inode/bridge.ts";
export { LiveSource } from "./inode/live-source.ts";
export { SnapshotSource } from "./inode/snapshot-source.ts";
export type { NodeSource } from "./inode/source.ts";
export { MOUNT_USAGE, parseMountArgs, runMount, runUmount, type MountArgs } from "./mount-main.ts";
