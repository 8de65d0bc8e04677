import { FsError, type InodeAttrs, type InodeId, type PreparedPublish } from "../types/index.ts";
import type { BodySource } from "./blocks.ts";
import type { DataPath } from "./objects.ts";
import { checkConcurrency, deleteUploaded, uploadBody, type UploadOptions } from "./upload.ts";

// A publish end to end: prepare (metad hands out a fresh generation's key prefix), upload the
// blocks straight to the object store, then one publish request commits the whole manifest. The
// file appears with all its bytes or not at all; bytes never pass through metad.

/** `write` asks for a request key, so a retried write is applied once. */
export type Call = (op: string, args: Record<string, unknown>, write: boolean) => Promise<unknown>;

export interface PublishOptions extends UploadOptions {
  /** Replace an existing file; without it an existing name is EEXIST. */
  replace?: boolean;
  /** ESTALE unless the file is still at this generation when the publish commits. */
  ifGeneration?: number;
  /** Default LIMITS.blockSizeDefaultBytes; must divide the 64 MiB chunk. */
  blockSizeBytes?: number;
  mode?: number;
  /** How long the upload may take: after it, metad's GC removes the staged objects. */
  expiryMs?: number;
  /** A prepare made earlier for this target (create_prepared): the publish skips its own. */
  prepared?: PreparedPublish;
}

/** Where a body is published: by path (the SDK path API) or by directory inode and name (FUSE). */
export type PublishTarget = { path: string } | { parent: InodeId; name: string };

export async function publishBody(call: Call, data: DataPath, target: PublishTarget, source: BodySource, options: PublishOptions = {}): Promise<InodeAttrs> {
  checkConcurrency(options.concurrency);
  // Open the store first: a store we cannot reach should fail before metad stages anything.
  const store = await data.store();
  const prepareArgs = { ...target, ...pick(options, "blockSizeBytes", "expiryMs") };
  // Without `replace` an existing name fails the publish anyway; asking alongside the prepare
  // fails it before gigabytes are uploaded for nothing.
  const [prepared] = options.prepared
    ? [options.prepared]
    : await Promise.all([call("prepare", prepareArgs, true) as Promise<PreparedPublish>, options.replace ? null : refuseExisting(call, target)]);
  const manifest = await uploadBody(store, prepared, source, { ...options, onCleanup: (n) => (data.integrity.uploadBlocksCleanedUp += n) });
  const publishArgs = { ...target, prepareId: prepared.prepareId, manifest, replace: options.replace ?? false, ...pick(options, "ifGeneration", "mode") };
  try {
    return (await call("publish", publishArgs, true)) as InodeAttrs;
  } catch (err) {
    // Only a refusal proves nothing committed; after a timeout or a dropped connection the
    // publish may have landed, and its blocks are then the file's.
    if (REFUSED.has((err as FsError).code)) {
      const keys = manifest.chunks.flatMap((chunk) => chunk.blocks.map((block) => block.key));
      data.integrity.uploadBlocksCleanedUp += await deleteUploaded(store, keys);
    }
    throw err;
  }
}

/** Publish errors metad answers before committing anything. */
const REFUSED = new Set(["EEXIST", "ESTALE", "ENOENT", "EINVAL", "EISDIR", "ENOTDIR", "EFBIG", "EACCES", "EPERM", "ENOSPC", "ENAMETOOLONG", "EXDEV"]);

async function refuseExisting(call: Call, target: PublishTarget): Promise<void> {
  const [op, args] = "path" in target ? ["lstat_path", { path: target.path }] : ["lookup", { parent: target.parent, name: target.name }];
  try {
    await call(op, args, false);
  } catch (err) {
    // Anything else (a missing directory, a bad name) is for prepare to report.
    if ((err as FsError).code === "ENOENT") return;
    throw err;
  }
  throw new FsError("EEXIST", "path" in target ? `'${target.path}' exists` : `'${target.name}' exists in directory ${target.parent}`);
}

function pick<K extends keyof PublishOptions>(options: PublishOptions, ...keys: K[]): Partial<Pick<PublishOptions, K>> {
  const out: Partial<Pick<PublishOptions, K>> = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
