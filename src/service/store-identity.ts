import { wrongStoreError } from "../types/index.ts";
import type { MetadataStore } from "../schema/index.ts";
import type { MetadataService } from "./metadata-service.ts";

// Which object store this metadata database belongs to (see src/types/store-id.ts). The id and
// the store's URL are system rows: fsck finds the store from them, and metad refuses to start on
// a store that carries another id.

export const SYS_OBJECT_STORE_ID = "object_store_id";
export const SYS_OBJECT_STORE_URL = "object_store_url";

/** The store as metad sees it at start; the object-store side lives in src/objstore/store-id.ts. */
export interface IdentifiedStore {
  /** The store's URL without secrets. */
  url: string;
  readId(): Promise<string | null>;
  writeId(id: string): Promise<void>;
  hasBlocks(): Promise<boolean>;
}

export interface RecordedStore {
  id: string | null;
  url: string | null;
}

/** What the database records (fsck reads it from a store at rest, metad through its service). */
export function recordedStore(store: Pick<MetadataStore, "getSystem">): RecordedStore {
  return {
    id: store.getSystem(SYS_OBJECT_STORE_ID)?.text ?? null,
    url: store.getSystem(SYS_OBJECT_STORE_URL)?.text ?? null,
  };
}

/** Records the store id (and where the store is) in the database, in one command. */
export function recordStoreId(service: MetadataService, id: string, url: string): void {
  const c = service.core.command("set_store_id", 0);
  c.mutations.push(
    { family: "system", op: "put", key: { name: SYS_OBJECT_STORE_ID }, value: { text: id } },
    { family: "system", op: "put", key: { name: SYS_OBJECT_STORE_URL }, value: { text: url } },
  );
  service.core.commit(c);
}

/**
 * Binds the database to `store` at metad start and returns the store id. First use records a
 * new id in the database, then writes it to the store; a start interrupted between the two
 * finishes the write, as long as the store holds no blocks yet. A store carrying another id, or
 * blocks without any id while the database expects one, is refused (EXDEV naming both); a store
 * that has an id when the database records none belongs to another database and is refused too.
 * Stores and databases from before store ids (neither has one) are bound on their first start.
 */
export async function bindObjectStore(service: MetadataService, store: IdentifiedStore, newId: () => string = () => crypto.randomUUID()): Promise<string> {
  const recorded = recordedStore(service.store);
  const found = await store.readId();
  if (recorded.id !== null) {
    if (found === recorded.id) {
      if (recorded.url !== store.url) recordStoreId(service, recorded.id, store.url);
      return found;
    }
    if (found !== null || (await store.hasBlocks())) throw wrongStoreError(store.url, recorded.id, found);
    await store.writeId(recorded.id);
    if (recorded.url !== store.url) recordStoreId(service, recorded.id, store.url);
    return recorded.id;
  }
  if (found !== null) throw wrongStoreError(store.url, null, found);
  const id = newId();
  recordStoreId(service, id, store.url);
  await store.writeId(id);
  return id;
}
