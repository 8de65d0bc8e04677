// Identifiers. Inode numbers and versions stay below 2^53 so they are exact JavaScript numbers;
// the allocator and the clock assert it rather than silently wrap.

/** Numeric id of a mount (a separate namespace with its own root). */
export type MountId = number;
/** Inode number, unique across all mounts of one metad. */
export type InodeId = number;
/** Commit version: every commit gets the next one, strictly increasing, never reused. */
export type Version = number;

/** Every mount's root directory has this inode number (also FUSE_ROOT_ID). */
export const ROOT_INODE: InodeId = 1;
/** The first inode number the allocator hands out. */
export const FIRST_ALLOCATED_INODE: InodeId = 2;
/** The name of the mount created on first start. */
export const DEFAULT_MOUNT_NAME = "default";
