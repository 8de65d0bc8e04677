import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStoreSuite } from "../store-conformance.ts";
import { SqliteStore } from "./sqlite-store.ts";

runStoreSuite("sqlite (file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-store-"));
  const path = join(dir, "meta.db");
  let store = new SqliteStore({ path });
  return {
    store,
    reopen: () => {
      store.close();
      store = new SqliteStore({ path });
      return store;
    },
    cleanup: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runStoreSuite("sqlite (memory)", () => {
  const store = new SqliteStore({ path: ":memory:" });
  return { store, reopen: null, cleanup: () => store.close() };
});
