// file://DIR: one file per object, the key's first components as directories (see layout.ts).
// Writes go to a temp file beside the target and are renamed over it, so a reader sees the old
// object or the new one, never a torn write; with durability "full" the bytes and the directory
// entries are fsynced.
import { randomBytes } from "node:crypto";
import { constants, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { FsError, LIMITS, toFsError } from "../../types/index.ts";
import { checkKey, checkListOptions, checkObjectSize, checkPrefix, checkRange, TEMP_COMPONENT_PREFIX } from "../keys.ts";
import type { ByteRange, Durability, ListOptions, ListPage, ObjectHead, ObjectStore, TempSweepResult } from "../object-store.ts";
import { flatPath, nestedPath, writePath } from "./layout.ts";
import { sweepTempFiles } from "./temp-sweep.ts";
import { walkKeys } from "./walk.ts";

export interface FileStoreOptions {
  /** The store's root directory; created if missing. */
  dir: string;
  durability?: Durability;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Errors that mean "no object at this key": the path is missing, a directory, or under a file. */
const NO_OBJECT_CODES = new Set(["ENOENT", "ENOTDIR", "EISDIR"]);

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads from `offsetBytes` of the file until `into` is full or the file ends; the bytes read. */
async function readAt(path: string, into: Uint8Array, offsetBytes: number): Promise<number> {
  const handle = await open(path, "r");
  try {
    let doneBytes = 0;
    while (doneBytes < into.byteLength) {
      const { bytesRead } = await handle.read(into, doneBytes, into.byteLength - doneBytes, offsetBytes + doneBytes);
      if (bytesRead === 0) break;
      doneBytes += bytesRead;
    }
    return doneBytes;
  } finally {
    await handle.close();
  }
}

/** Linux's O_DIRECT; 0 where the platform has none (reads then stay buffered). */
const O_DIRECT: number = constants.O_DIRECT ?? 0;
const ALIGN_BYTES = LIMITS.fileDirectReadAlignBytes;

/**
 * readAt around the page cache: the whole pages of `into` read with O_DIRECT, a partial last page
 * buffered. Null when O_DIRECT refuses this read (EINVAL: a buffer off a page boundary, or a
 * filesystem without it), so the caller reads buffered instead; `unsupported` is then set when the
 * filesystem itself refused.
 */
async function readAtDirect(path: string, into: Uint8Array, offsetBytes: number, refused: { unsupported: boolean }): Promise<number | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | O_DIRECT);
  } catch (err) {
    if (errnoCode(err) !== "EINVAL") throw err;
    refused.unsupported = true;
    return null;
  }
  const alignedBytes = into.byteLength - (into.byteLength % ALIGN_BYTES);
  let doneBytes = 0;
  try {
    while (doneBytes < alignedBytes) {
      const { bytesRead } = await handle.read(into, doneBytes, alignedBytes - doneBytes, offsetBytes + doneBytes);
      doneBytes += bytesRead;
      // Short of a whole page: the file ended inside it (the next offset could not be read direct).
      if (bytesRead === 0 || bytesRead % ALIGN_BYTES !== 0) return doneBytes;
    }
  } catch (err) {
    if (errnoCode(err) === "EINVAL" && doneBytes === 0) return null;
    throw err;
  } finally {
    await handle.close();
  }
  if (doneBytes === into.byteLength) return doneBytes;
  return doneBytes + (await readAt(path, into.subarray(doneBytes), offsetBytes + doneBytes));
}

/**
 * After mkdir -p made firstMade..leaf, fsyncs every directory that gained an entry: the parent of
 * firstMade down to the parent of leaf (leaf itself is fsynced once it holds something).
 */
async function fsyncNewDirs(firstMade: string, leaf: string, stopAt: string): Promise<void> {
  const top = dirname(firstMade);
  for (let d = dirname(leaf); ; d = dirname(d)) {
    await fsyncDir(d);
    if (d === top || d === stopAt || d === dirname(d)) return;
  }
}

export class FileObjectStore implements ObjectStore {
  readonly url: string;
  readonly root: string;
  readonly durability: Durability;
  /** `unsupported` once this store's filesystem refuses O_DIRECT (large reads are buffered from then on); reads made direct. */
  readonly #direct = { unsupported: O_DIRECT === 0, reads: 0 };

  private constructor(root: string, durability: Durability) {
    this.root = root;
    this.durability = durability;
    // Taken literally by openObjectStore (no percent-encoding), so this URL reopens the same store.
    this.url = `file://${root}`;
  }

  static async open(options: FileStoreOptions): Promise<FileObjectStore> {
    const root = resolve(options.dir);
    const durability = options.durability ?? "normal";
    const firstMade = await mkdir(root, { recursive: true });
    // A root lost to power loss would take every durably written object with it.
    if (durability === "full" && firstMade !== undefined) await fsyncNewDirs(firstMade, root, "/");
    return new FileObjectStore(root, durability);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    checkKey(key);
    checkObjectSize(key, bytes);
    const path = this.#pathOf(key);
    const dir = dirname(path);
    // Optimistic: most puts land in a directory that already exists, so mkdir only after ENOENT.
    // ENOENT again means a concurrent delete pruned the fresh directory: make it and retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#writeAtomically(dir, path, bytes);
        return;
      } catch (err) {
        if (errnoCode(err) !== "ENOENT" || attempt >= LIMITS.filePutDirRaceMaxAttempts) throw this.#error(err, "put", key);
        try {
          await this.#makeDirs(dir, bytes.byteLength);
        } catch (mkdirErr) {
          throw this.#error(mkdirErr, "put", key);
        }
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    checkKey(key);
    if (range) checkRange(key, range);
    const paths = this.#readPaths(key);
    for (let i = 0; ; i++) {
      try {
        return range ? await this.#readRange(paths[i]!, range) : await readFile(paths[i]!);
      } catch (err) {
        if (i + 1 < paths.length && NO_OBJECT_CODES.has(errnoCode(err) ?? "")) continue;
        throw this.#error(err, "get", key);
      }
    }
  }

  async readInto(key: string, range: ByteRange, into: Uint8Array): Promise<number> {
    checkKey(key);
    checkRange(key, range);
    if (into.byteLength < range.lengthBytes) throw new FsError("EINVAL", `a buffer of ${into.byteLength} bytes cannot take ${range.lengthBytes} bytes of ${JSON.stringify(key)}`, { path: key });
    const paths = this.#readPaths(key);
    const dest = into.subarray(0, range.lengthBytes);
    const direct = !this.#direct.unsupported && dest.byteLength >= LIMITS.fileDirectReadMinBytes && range.offsetBytes % ALIGN_BYTES === 0 && dest.byteOffset % ALIGN_BYTES === 0;
    for (let i = 0; ; i++) {
      try {
        const doneBytes = direct ? await readAtDirect(paths[i]!, dest, range.offsetBytes, this.#direct) : null;
        if (doneBytes !== null) this.#direct.reads++;
        return doneBytes ?? (await readAt(paths[i]!, dest, range.offsetBytes));
      } catch (err) {
        if (i + 1 < paths.length && NO_OBJECT_CODES.has(errnoCode(err) ?? "")) continue;
        throw this.#error(err, "get", key);
      }
    }
  }

  /** Reads made around the page cache so far, and whether this store's filesystem refused O_DIRECT. */
  get directReads(): { reads: number; unsupported: boolean } {
    return { ...this.#direct };
  }

  async head(key: string): Promise<ObjectHead | null> {
    checkKey(key);
    for (const path of this.#readPaths(key)) {
      try {
        const stats = await stat(path);
        if (stats.isFile()) return { sizeBytes: stats.size };
      } catch (err) {
        if (!NO_OBJECT_CODES.has(errnoCode(err) ?? "")) throw this.#error(err, "head", key);
      }
    }
    return null;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    // Both layouts: a key rewritten since an older store kept it nested may be in each.
    for (const path of this.#readPaths(key)) {
      try {
        await unlink(path);
        // A delete lost to power loss after GC dropped its queue record would leak the object forever.
        if (this.durability === "full") await fsyncDir(dirname(path));
      } catch (err) {
        // EPERM: unlink(2) of a directory on some systems; either way no object has this key.
        if (NO_OBJECT_CODES.has(errnoCode(err) ?? "") || errnoCode(err) === "EPERM") continue;
        throw this.#error(err, "delete", key);
      }
      await this.#pruneEmptyDirs(dirname(path));
    }
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    checkPrefix(prefix);
    const limit = checkListOptions(options);
    const keys: string[] = [];
    try {
      // One key past the page tells whether another page exists.
      for await (const key of walkKeys({ root: this.root, prefix, after: options?.after ?? "" })) {
        keys.push(key);
        if (keys.length > limit) break;
      }
    } catch (err) {
      throw this.#error(err, "list", prefix);
    }
    if (keys.length <= limit) return { keys, nextAfter: null };
    keys.length = limit;
    return { keys, nextAfter: keys[limit - 1]! };
  }

  sweepTempFiles(options: { minAgeMs: number; dryRun: boolean }): Promise<TempSweepResult> {
    return sweepTempFiles(this.root, options);
  }

  async close(): Promise<void> {}

  /** Where a put writes `key` (see layout.ts). */
  #pathOf(key: string): string {
    return this.#resolve(key, writePath(key));
  }

  /** Where `key` may be: where a put writes it, then the nested path older stores used. */
  #readPaths(key: string): string[] {
    const flat = flatPath(key);
    const nested = this.#resolve(key, nestedPath(key));
    return flat === null ? [nested] : [this.#resolve(key, flat), nested];
  }

  #resolve(key: string, components: string[]): string {
    const path = join(this.root, ...components);
    // checkKey already refuses '..' and absolute keys; this guards the invariant, not user input.
    if (!path.startsWith(this.root + sep)) throw new FsError("EINVAL", `object key ${JSON.stringify(key)} escapes the store`, { path: key });
    return path;
  }

  async #writeAtomically(dir: string, path: string, bytes: Uint8Array): Promise<void> {
    const temp = join(dir, `${TEMP_COMPONENT_PREFIX}${randomBytes(8).toString("hex")}`);
    try {
      if (this.durability === "full") {
        const handle = await open(temp, "wx");
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
      } else if (bytes.byteLength <= LIMITS.fileStoreSyncPutMaxBytes) {
        // A small write into the page cache is faster done here than handed to a worker thread
        // and back (a mount's fsync of a few changed blocks waits on these).
        writeFileSync(temp, bytes, { flag: "wx" });
        renameSync(temp, path);
        return;
      } else {
        await writeFile(temp, bytes, { flag: "wx" });
      }
      await rename(temp, path);
    } catch (err) {
      // ENOENT: the directory is missing, so no temp file was made (or it went with the directory).
      if (errnoCode(err) !== "ENOENT") await rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
    if (this.durability === "full") await fsyncDir(dir);
  }

  /** mkdir -p; with "full" durability also fsyncs each directory that gained a new entry. */
  async #makeDirs(dir: string, putBytes: number): Promise<void> {
    if (this.durability !== "full" && putBytes <= LIMITS.fileStoreSyncPutMaxBytes) {
      // With the small write that follows, done here: handing each of a new key's few mkdirs to
      // Bun's thread pool and back cost a mount ~1.5 ms of pool-thread CPU per small file.
      mkdirSync(dir, { recursive: true });
      return;
    }
    const firstMade = await mkdir(dir, { recursive: true });
    if (this.durability === "full" && firstMade !== undefined) await fsyncNewDirs(firstMade, dir, this.root);
  }

  /** Empty key directories left by deletes would otherwise pile up and slow every listing. */
  async #pruneEmptyDirs(from: string): Promise<void> {
    for (let d = from; d !== this.root && d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }

  async #readRange(path: string, range: ByteRange): Promise<Uint8Array> {
    // Under Bun a sliced file read is one native call: about 4x the open/stat/read/close below,
    // and ranged reads of small blocks are the hot path of training reads.
    if (typeof Bun !== "undefined") {
      return await Bun.file(path).slice(range.offsetBytes, range.offsetBytes + range.lengthBytes).bytes();
    }
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      const start = Math.min(range.offsetBytes, size);
      const lengthBytes = Math.min(range.lengthBytes, size - start);
      const out = new Uint8Array(lengthBytes);
      let doneBytes = 0;
      while (doneBytes < lengthBytes) {
        const { bytesRead } = await handle.read(out, doneBytes, lengthBytes - doneBytes, start + doneBytes);
        if (bytesRead === 0) break;
        doneBytes += bytesRead;
      }
      return doneBytes === lengthBytes ? out : out.subarray(0, doneBytes);
    } finally {
      await handle.close();
    }
  }

  #error(err: unknown, syscall: string, key: string): FsError {
    if (err instanceof FsError) return err;
    const code = errnoCode(err);
    if (code && NO_OBJECT_CODES.has(code) && syscall === "get") {
      return new FsError("ENOENT", `no object ${JSON.stringify(key)} in ${this.url}`, { syscall, path: key });
    }
    const mapped = toFsError(err);
    mapped.syscall ??= syscall;
    mapped.path ??= key;
    return mapped;
  }
}
