// Object store micro benchmarks on file://, next to the floor of plain node:fs on the same disk in
// the same run: writeFile/readFile of the same bytes, and a positional read for ranges. The gap to
// the floor is what atomic publication (temp file + rename), key checks and fsync cost.
// Blocks are immutable, so the main put figure writes new keys; "replacing" shows the rename-over
// case, which ext4 makes much dearer (auto_da_alloc flushes the new data on a replacing rename).
// Run: ./node_modules/.bin/bun bench/objstore.bench.ts [--json]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bench, do_not_optimize, run, summary } from "mitata";
import { FileObjectStore } from "../src/objstore/file/file-store.ts";
import { printRows, rowsFrom } from "./lib/report.ts";

const json = process.argv.includes("--json");
const KiB = 1024;
const MiB = 1024 * KiB;
/** Existing objects that reads and replacing writes rotate over. */
const ROTATE_KEYS = 8;
/** New-key writes keep at most this many MiB on disk: older ones are removed outside the timing. */
const FRESH_WINDOW_MIB = 256;
const RANGE_BYTES = 16 * KiB;

// Under the project's data directory, on the disk a default store (file://./.nokv/objects) uses.
const dir = join(process.cwd(), ".nokv", `bench-objstore-${process.pid}`);
const floorDir = join(dir, "floor");
mkdirSync(floorDir, { recursive: true });
const normal = await FileObjectStore.open({ dir: join(dir, "normal") });
const full = await FileObjectStore.open({ dir: join(dir, "full"), durability: "full" });

/**
 * A bench body that first writes back every dirty page (untimed): the previous bench's writes
 * would otherwise be flushed during this one and bill it for them.
 */
function settled<T>(body: T): () => Generator<T> {
  return function* () {
    spawnSync("sync");
    yield body;
  };
}

/** Hands out new names; removes the oldest files past the window (mitata computes these untimed). */
function freshNames(sizeBytes: number, name: (n: number) => string, pathOf: (name: string) => string): () => string {
  const live: string[] = [];
  const window = Math.max(16, Math.floor((FRESH_WINDOW_MIB * MiB) / sizeBytes));
  let n = 0;
  return () => {
    const fresh = name(n++);
    live.push(fresh);
    if (live.length > window) rmSync(pathOf(live.shift()!), { force: true });
    return fresh;
  };
}

const sizes = [
  { label: "16 KiB", bytes: new Uint8Array(16 * KiB).map((_, i) => (i * 31) & 0xff) },
  { label: "4 MiB", bytes: new Uint8Array(4 * MiB).map((_, i) => (i * 31) & 0xff) },
];
const plan: Record<string, { items: number; floor?: string }> = {};
let turn = 0;
const next = () => turn++ % ROTATE_KEYS;

for (const { label, bytes } of sizes) {
  const tag = label.replace(" ", "");
  const key = (i: number) => `blocks/1/42/1/0/${tag}-${i}`;
  const floorPath = (i: number) => join(floorDir, `${tag}-${i}`);
  for (let i = 0; i < ROTATE_KEYS; i++) await Promise.all([normal.put(key(i), bytes), writeFile(floorPath(i), bytes)]);
  const storePath = (store: FileObjectStore) => (k: string) => join(store.root, ...k.split("/"));
  const freshFloor = freshNames(bytes.byteLength, (n) => join(floorDir, `new-${tag}-${n}`), (p) => p);
  const freshNormal = freshNames(bytes.byteLength, (n) => `blocks/2/1/1/0/${tag}-${n}`, storePath(normal));
  const freshFull = freshNames(bytes.byteLength, (n) => `blocks/3/1/1/0/${tag}-${n}`, storePath(full));
  // The first block of a new file body: blocks/<mount>/<inode>/<generation>/<chunk>/ is all new.
  const freshBody = freshNames(bytes.byteLength, (n) => `blocks/4/${n}/1/0/${tag}`, storePath(normal));
  const n = {
    floorPut: `floor: fs.writeFile ${label}, new file`, put: `put ${label}, new key`, putFull: `put ${label}, new key, durability full`,
    putBody: `put ${label}, new key in 3 new dirs`,
    floorReplace: `floor: fs.writeFile ${label}, existing file`, putReplace: `put ${label}, replacing`,
    floorGet: `floor: fs.readFile ${label}`, get: `get ${label}`,
  };
  summary(() => {
    bench(n.floorPut, settled({ [0]: freshFloor, bench: (path: string) => writeFile(path, bytes) }));
    bench(n.put, settled({ [0]: freshNormal, bench: (k: string) => normal.put(k, bytes) }));
    bench(n.putFull, settled({ [0]: freshFull, bench: (k: string) => full.put(k, bytes) }));
    bench(n.putBody, settled({ [0]: freshBody, bench: (k: string) => normal.put(k, bytes) }));
    bench(n.floorReplace, settled(() => writeFile(floorPath(next()), bytes)));
    bench(n.putReplace, settled(() => normal.put(key(next()), bytes)));
  });
  summary(() => {
    bench(n.floorGet, settled(async () => do_not_optimize(await readFile(floorPath(next())))));
    bench(n.get, settled(async () => do_not_optimize(await normal.get(key(next())))));
  });
  Object.assign(plan, {
    [n.floorPut]: { items: 1 }, [n.put]: { items: 1, floor: n.floorPut }, [n.putFull]: { items: 1, floor: n.floorPut },
    [n.putBody]: { items: 1, floor: n.floorPut },
    [n.floorReplace]: { items: 1 }, [n.putReplace]: { items: 1, floor: n.floorReplace },
    [n.floorGet]: { items: 1 }, [n.get]: { items: 1, floor: n.floorGet },
  });
  if (bytes.byteLength > RANGE_BYTES) {
    const range = { offsetBytes: bytes.byteLength / 2, lengthBytes: RANGE_BYTES };
    const floorRange = `floor: fs open+read+close 16 KiB of ${label}`;
    const getRange = `get 16 KiB range of ${label}`;
    summary(() => {
      bench(floorRange, settled(async () => {
        const handle = await open(floorPath(next()), "r");
        try {
          do_not_optimize(await handle.read(new Uint8Array(RANGE_BYTES), 0, RANGE_BYTES, range.offsetBytes));
        } finally {
          await handle.close();
        }
      }));
      bench(getRange, settled(async () => do_not_optimize(await normal.get(key(next()), range))));
    });
    Object.assign(plan, { [floorRange]: { items: 1 }, [getRange]: { items: 1, floor: floorRange } });
  }
}

function mibPerSec(rows: ReturnType<typeof rowsFrom>, name: string, sizeBytes: number): string {
  const row = rows.find((r) => r.name === name);
  return row ? `${((row.itemsPerSec * sizeBytes) / MiB).toFixed(0)} MiB/s` : "n/a";
}

try {
  const result = await run({ format: json ? "quiet" : "mitata" });
  const rows = rowsFrom(result.benchmarks, plan);
  if (json) console.log(JSON.stringify({ rows }, null, 2));
  else {
    printRows("object store, file:// (items/s = objects per second)", rows);
    for (const { label, bytes } of sizes) {
      const rate = (name: string) => mibPerSec(rows, name, bytes.byteLength);
      console.log(`${label}: put ${rate(`put ${label}, new key`)} (floor ${rate(`floor: fs.writeFile ${label}, new file`)}), ` +
        `get ${rate(`get ${label}`)} (floor ${rate(`floor: fs.readFile ${label}`)})`);
    }
  }
} finally {
  await Promise.all([normal.close(), full.close()]);
  rmSync(dir, { recursive: true, force: true });
}
