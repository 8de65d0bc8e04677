import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIMITS } from "../../types/index.ts";
import { SqliteStore } from "./sqlite-store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "nokv-wal-"));
  dirs.push(dir);
  return join(dir, "meta.db");
}

/** Commits `n` system-row writes of ~1 KiB each, one transaction each (the WAL grows a page or two per commit). */
function write(store: SqliteStore, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    const v = store.shardState(0).version + 1;
    store.commit({
      shard: 0, version: v, kind: "set_store_id", timestampMs: 0, nextId: store.shardState(0).nextId, predicates: [],
      mutations: [{ family: "system", op: "put", key: { name: `row-${i % 5_000}` }, value: { text: "x".repeat(1024) } }],
      watchEvents: [], keepHistory: false,
    });
  }
}

test("a worker checkpoints the WAL: commits never do, the WAL stays bounded, and a clean close empties it", async () => {
  const path = storePath();
  const store = new SqliteStore({ path, backgroundCheckpoints: true });
  // Steady writes with short pauses, longer than the WAL bound in total.
  const commits = Math.ceil((3 * LIMITS.walRestartFrames) / 2_000) * 2_000;
  for (let done = 0; done < commits; done += 2_000) {
    write(store, done, 2_000);
    await Bun.sleep(LIMITS.walCheckpointIntervalMs / 5);
  }
  await Bun.sleep(3 * LIMITS.walCheckpointIntervalMs);
  // Restarted rather than grown without end: a bit over the restart point at most (4 KiB pages).
  const walBytes = statSync(`${path}-wal`).size;
  expect(walBytes).toBeLessThan(4 * LIMITS.walRestartFrames * 4096);
  // The database file itself holds the rows: the worker copied them there.
  expect(statSync(path).size).toBeGreaterThan(5_000 * 1024);
  store.close();
  expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
  const again = new SqliteStore({ path });
  expect(again.shardState(0).version).toBe(commits);
  expect(again.scanSystem("row-").length).toBe(5_000);
  again.close();
}, 120_000);

test("without the option a store checkpoints as SQLite does and starts no worker", () => {
  const path = storePath();
  const store = new SqliteStore({ path });
  write(store, 0, 100);
  store.close();
  expect(new SqliteStore({ path }).shardState(0).version).toBe(100);
});
