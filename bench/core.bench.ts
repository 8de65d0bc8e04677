// In-process metadata core: command commits, reads, and the bare bun:sqlite floor doing the same
// row writes. `bun bench/core.bench.ts [--json]`.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize, run } from "mitata";
import { SqliteStore } from "../src/schema/index.ts";
import { MetadataService } from "../src/service/index.ts";
import { ROOT_INODE, nowNs } from "../src/types/index.ts";
import { printRows, rowsFrom } from "./lib/report.ts";

const json = process.argv.includes("--json");
const BATCH = 256;
const dir = mkdtempSync(join(tmpdir(), "nokv-bench-core-"));
const service = new MetadataService(new SqliteStore({ path: join(dir, "meta.db") }));
const mount = service.mounts.resolve("default");
const ns = service.ns;

let seq = 0;
const name = () => `f${(seq++).toString(36).padStart(8, "0")}`;
const one = ns.mkdir({ mount, parent: ROOT_INODE, name: "one" });
const many = Array.from({ length: 64 }, (_, i) => ns.mkdir({ mount, parent: ROOT_INODE, name: `d${i}` }));
const listed = ns.mkdir({ mount, parent: ROOT_INODE, name: "listed" });
const files = ns.createFiles({ mount, parent: listed.inode, names: Array.from({ length: 1000 }, (_, i) => `e${String(i).padStart(4, "0")}`) });
let pick = 0;

bench("create 1 (one dir)", () => ns.create({ mount, parent: one.inode, name: name() }));
bench("create 1 (64 dirs)", () => ns.create({ mount, parent: many[pick++ & 63]!.inode, name: name() }));
bench("create-many 256 (one command)", () => ns.createFiles({ mount, parent: one.inode, names: Array.from({ length: BATCH }, name) }));
bench("group of 256 creates (group commit)", () => service.group(() => {
  for (let i = 0; i < BATCH; i++) ns.create({ mount, parent: many[pick++ & 63]!.inode, name: name() });
}));
bench("lookup", () => do_not_optimize(ns.lookup({ mount, parent: listed.inode, name: `e${String(pick++ % 1000).padStart(4, "0")}` })));
bench("getattr", () => do_not_optimize(ns.getattr({ mount, inode: files[pick++ % 1000]!.inode })));
bench("readdir-plus page of 1,000", () => do_not_optimize(ns.readdirPlus({ mount, inode: listed.inode, limit: 1000 })));

// The floor: the same rows a create writes (inode, dentry, watch event, parent attrs), straight
// through bun:sqlite prepared statements on the same schema, no semantics, no history, no checks.
const floorStore = new SqliteStore({ path: join(dir, "floor.db") });
floorStore.close();
const floor = new Database(join(dir, "floor.db"));
floor.run("PRAGMA journal_mode = WAL");
floor.run("PRAGMA synchronous = NORMAL");
const insInode = floor.prepare("INSERT INTO inode_current VALUES (?, ?, ?, 0, 420, 0, 0, 0, 0, 1, ?, ?, ?, ?, NULL)");
const insDentry = floor.prepare("INSERT INTO dentry_current VALUES (?, ?, ?, ?, ?, 0)");
const insWatch = floor.prepare("INSERT INTO watch_log VALUES (?, ?, ?, ?, 0, ?, ?, NULL, NULL, NULL)");
const putParent = floor.prepare("INSERT OR REPLACE INTO inode_current VALUES (?, ?, ?, 1, 493, 0, 0, 0, 0, 2, 1, ?, ?, ?, NULL)");
const getInode = floor.prepare("SELECT * FROM inode_current WHERE mount = ? AND inode = ?");
let floorInode = 10;
let floorVersion = 1;
const floorCreate = (count: number) => {
  const now = nowNs();
  const version = floorVersion++;
  for (let i = 0; i < count; i++) {
    const inode = floorInode++;
    insInode.run(1, inode, version, 2, now, now, now);
    insDentry.run(1, 2, `f${inode.toString(36).padStart(8, "0")}`, version, inode);
    insWatch.run(1, 2, version, i, `f${inode}`, inode);
  }
  putParent.run(1, 2, version, now, now, now);
};
const floorTx1 = floor.transaction(() => floorCreate(1));
const floorTx256 = floor.transaction(() => floorCreate(BATCH));
bench("floor: bun:sqlite create 1", () => floorTx1());
bench("floor: bun:sqlite 256 creates, one tx", () => floorTx256());
bench("floor: bun:sqlite point read", () => do_not_optimize(getInode.get(1, 10 + (pick++ % 1000))));

const result = await run({ format: json ? "quiet" : "mitata" });
const rows = rowsFrom(result.benchmarks, {
  "create 1 (one dir)": { items: 1, floor: "floor: bun:sqlite create 1" },
  "create 1 (64 dirs)": { items: 1, floor: "floor: bun:sqlite create 1" },
  "create-many 256 (one command)": { items: BATCH, floor: "floor: bun:sqlite 256 creates, one tx" },
  "group of 256 creates (group commit)": { items: BATCH, floor: "floor: bun:sqlite 256 creates, one tx" },
  lookup: { items: 1, floor: "floor: bun:sqlite point read" },
  getattr: { items: 1, floor: "floor: bun:sqlite point read" },
  "readdir-plus page of 1,000": { items: 1000 },
  "floor: bun:sqlite create 1": { items: 1 },
  "floor: bun:sqlite 256 creates, one tx": { items: BATCH },
  "floor: bun:sqlite point read": { items: 1 },
});
const counters = service.store.counters;
if (json) console.log(JSON.stringify({ rows, counters, bytesPerFile: service.store.footprintBytes() / seq }, null, 2));
else {
  printRows("metadata core, in process (items/s = creates, reads or entries per second)", rows);
  console.log(`\nwrites: ${JSON.stringify(counters)}`);
  console.log(`store bytes per file: ${(service.store.footprintBytes() / (seq + 1000)).toFixed(0)} (${seq + 1000} files)`);
}
service.close();
floor.close();
rmSync(dir, { recursive: true, force: true });
