import { FsError, LIMITS, bodyKeyPrefix, validateName, type InodeId, type MountId, type PreparedPublish } from "../types/index.ts";
import { stagedPrepareId, type MetadataCommand } from "../schema/index.ts";
import type { ServiceCore, WriteOptions } from "./core.ts";

// What a prepare writes (a fresh generation's ids and its staged row), into a command another
// caller builds and commits: prepare's own, a publish staging the next body, or group commit's
// merged creates (create_prepared), so a new file and its first prepare are one log entry.

export interface PrepareArgs extends WriteOptions {
  mount: MountId;
  parent: InodeId;
  name: string;
  blockSizeBytes?: number;
  expiryMs?: number;
}

/** Throws EINVAL unless `expiryMs` is a whole number of ms in 1..stagedExpiryMaxMs. */
export function checkExpiry(expiryMs: number): void {
  if (!Number.isInteger(expiryMs) || expiryMs <= 0 || expiryMs > LIMITS.stagedExpiryMaxMs) {
    throw new FsError("EINVAL", `expiry must be 1..${LIMITS.stagedExpiryMaxMs} ms, got ${expiryMs}`);
  }
}

/**
 * Stages a body of `inode` in `command`: allocates its generation and writes the staged row.
 * Checks nothing, so callers check before anything else of theirs is in the command.
 */
export function stageBody(
  core: ServiceCore,
  command: MetadataCommand,
  body: { mount: MountId; inode: InodeId; expiryMs: number; freshInode: boolean; blockSizeBytes: number },
): PreparedPublish {
  const { mount, inode, freshInode } = body;
  const generation = core.allocateId(command);
  const keyPrefix = bodyKeyPrefix(mount, inode, generation);
  const expiresAtMs = command.timestampMs + body.expiryMs;
  const prepareId = stagedPrepareId(mount, expiresAtMs, generation, crypto.randomUUID());
  command.mutations.push({ family: "staged", op: "put", key: { mount, prepareId }, value: { inode, generation, keyPrefix, expiresAtMs, freshInode } });
  return { prepareId, mount, inode, generation, blockSizeBytes: body.blockSizeBytes, chunkSizeBytes: LIMITS.chunkSizeBytes, keyPrefix, expiresAtMs };
}

/**
 * A prepare of the name `args.name` as it is now (checks, then stages into `command`): a file
 * there keeps its inode (open readers see ESTALE and re-plan); a free name gets a new one.
 */
export function stagePrepareOf(core: ServiceCore, command: MetadataCommand, args: PrepareArgs): PreparedPublish {
  const { mount, parent, name } = args;
  validateName(name);
  core.getDir(mount, parent);
  const blockSizeBytes = args.blockSizeBytes ?? LIMITS.blockSizeDefaultBytes;
  if (!Number.isInteger(blockSizeBytes) || blockSizeBytes < LIMITS.blockSizeMinBytes || blockSizeBytes > LIMITS.blockSizeMaxBytes || LIMITS.chunkSizeBytes % blockSizeBytes !== 0) {
    throw new FsError("EINVAL", `block size ${blockSizeBytes} must divide ${LIMITS.chunkSizeBytes} and lie in ${LIMITS.blockSizeMinBytes}..${LIMITS.blockSizeMaxBytes}`);
  }
  const expiryMs = args.expiryMs ?? LIMITS.stagedExpiryDefaultMs;
  checkExpiry(expiryMs);
  const existing = core.readDentry({ mount, parent, name });
  if (existing && existing.type === "dir") throw new FsError("EISDIR", `'${name}' is a directory`);
  const freshInode = existing?.type !== "file";
  const inode = freshInode ? core.allocateId(command) : existing.inode;
  return stageBody(core, command, { mount, inode, expiryMs, freshInode, blockSizeBytes });
}
