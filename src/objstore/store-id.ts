// Reading and writing the store-id object (see src/types/store-id.ts for why it exists).
import { FsError, STORE_ID_KEY, STORE_ID_RE, wrongStoreError } from "../types/index.ts";
import type { ObjectStore } from "./object-store.ts";

/** The id the store carries, or null when it carries none (a new, empty or foreign store). */
export async function readStoreId(store: ObjectStore): Promise<string | null> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(STORE_ID_KEY);
  } catch (err) {
    if ((err as FsError).code === "ENOENT") return null;
    throw err;
  }
  const id = Buffer.from(bytes).toString("utf8").trim();
  if (!STORE_ID_RE.test(id)) throw new FsError("EIO", `object store ${store.url}: object ${STORE_ID_KEY} holds no valid store id`);
  return id;
}

/** Written with the store's own durability: under "full" it is fsynced, directory entry included. */
export async function writeStoreId(store: ObjectStore, id: string): Promise<void> {
  if (!STORE_ID_RE.test(id)) throw new FsError("EINVAL", `store id ${JSON.stringify(id)}: expected 8..64 letters, digits or '-'`);
  await store.put(STORE_ID_KEY, Buffer.from(`${id}\n`, "utf8"));
}

/** Throws EXDEV naming both ids unless `store` carries `expected`. */
export async function checkStoreId(store: ObjectStore, expected: string): Promise<void> {
  const found = await readStoreId(store);
  if (found !== expected) throw wrongStoreError(store.url, expected, found);
}

/** Whether the store holds any block: a store with blocks and no id is somebody's, not new. */
export async function hasBlocks(store: ObjectStore): Promise<boolean> {
  return (await store.list("blocks/", { limit: 1 })).keys.length > 0;
}
