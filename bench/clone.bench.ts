// Agent workspaces: clone, diff with 1% changed, and rollback of trees of 10,000 and 100,000
// entries, in process on a real SQLite file, beside `cp -r`, `diff -r` and `rm -rf && cp -r` of
// the same tree shape on the local disk in the same run.
// `bun bench/clone.bench.ts [--json] [--sizes 10000,100000]`.
//
// The NoKV tree: every file has a one-block body (4 KiB). The 100,000-entry tree is ten clones of
// the 10,000-entry tree side by side (which is how agents get big trees: by branching), so its
// files share blocks ten ways. The local tree has the same directories and 1 KiB files: the
// clone copies no bytes whatever the size, so small local files only flatter `cp -r`.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/schema/index.ts";
import { MetadataService } from "../src/service/index.ts";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor } from "../src/types/index.ts";

const json = process.argv.includes("--json");
const sizesArg = process.argv[process.argv.indexOf("--sizes") + 1];
const SIZES = process.argv.includes("--sizes") && sizesArg ? sizesArg.split(",").map(Number) : [10_000, 100_000];
const FILES_PER_DIR = 1_000;
const BASE_FILES = 10_000;
const LOCAL_FILE_BYTES = 1024;

interface Row {
  entries: number;
  phase: string;
  nokvMs: number;
  localMs: number;
  local: string;
}

const root = mkdtempSync(join(tmpdir(), "nokv-clone-bench-"));
const service = new MetadataService(new SqliteStore({ path: join(root, "meta.db") }));
const mount = service.mounts.resolve("default");
const rows: Row[] = [];

function timeMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function sh(...argv: string[]): number {
  const start = performance.now();
  const proc = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
  // diff exits 1 when the trees differ, which is the point here.
  if (proc.exitCode !== 0 && !(argv[0] === "diff" && proc.exitCode === 1)) throw new Error(`${argv.join(" ")}: ${proc.stderr.toString()}`);
  return performance.now() - start;
}

function dirOf(path: string): number {
  return service.paths.stat({ mount, path }).inode;
}

function publish(parent: number, name: string, tag: string): void {
  const prep = service.publisher.prepare({ mount, parent, name, blockSizeBytes: 4096 });
  const blocks = [{ key: blockKey(prep.keyPrefix, 0, 0), offsetInChunk: 0, lengthBytes: 4096, objectOffset: 0, checksum: blockChecksum(new Uint8Array(4096), segmentSizeFor(4096)) }];
  const summary = { sizeBytes: 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: tag, contentType: "" };
  service.publisher.publish({ mount, prepareId: prep.prepareId, parent, name, manifest: { summary, chunks: [{ chunkIndex: 0, blocks }] }, replace: true });
}

/** The 10,000-file NoKV tree at /base, and its local twin. */
function buildBase(local: string): void {
  for (let d = 0; d < BASE_FILES / FILES_PER_DIR; d++) {
    service.group(() => {
      const dir = service.paths.mkdir({ mount, path: `/base/d${d}`, recursive: true })!.inode;
      for (let f = 0; f < FILES_PER_DIR; f++) publish(dir, `f${f}`, "base");
    });
    mkdirSync(join(local, `d${d}`), { recursive: true });
    const bytes = new Uint8Array(LOCAL_FILE_BYTES).fill(d);
    for (let f = 0; f < FILES_PER_DIR; f++) writeFileSync(join(local, `d${d}`, `f${f}`), bytes);
  }
}

/** A tree of `entries` files at /tree<entries> (clones of /base), and the same shape on disk. */
function buildTree(entries: number, baseLocal: string): { path: string; local: string } {
  const path = `/tree${entries}`;
  const local = join(root, `local${entries}`);
  if (entries === BASE_FILES) {
    service.clones.clone({ mount, source: { path: "/base" }, target: path });
    sh("cp", "-r", baseLocal, local);
    return { path, local };
  }
  service.paths.mkdir({ mount, path });
  mkdirSync(local);
  for (let i = 0; i < entries / BASE_FILES; i++) {
    service.clones.clone({ mount, source: { path: "/base" }, target: `${path}/c${i}` });
    sh("cp", "-r", baseLocal, join(local, `c${i}`));
  }
  return { path, local };
}

/** Every 100th file of the tree gets a new body (NoKV) or new bytes (local): 1% changed. */
function changeOnePercent(path: string, local: string): number {
  let changed = 0;
  const walk = (p: string, l: string) => {
    let n = 0;
    for (const e of service.paths.readdir({ mount, path: p, limit: LIMITS.readdirPageMaxEntries }).entries) {
      if (e.type === "dir") walk(`${p}/${e.name}`, join(l, e.name));
      else if (n++ % 100 === 0) {
        publish(dirOf(p), e.name, "changed");
        writeFileSync(join(l, e.name), new Uint8Array(LOCAL_FILE_BYTES).fill(255));
        changed++;
      }
    }
  };
  service.group(() => walk(path, local));
  return changed;
}

function diffAll(a: { path: string; at?: number; root?: number }, b: { path: string }): number {
  let entries = 0;
  for (let cursor: string | null = ""; cursor !== null; ) {
    const page = service.differ.diff({ mount, a, b, cursor });
    entries += page.entries.length;
    cursor = page.nextCursor;
  }
  return entries;
}

try {
  const baseLocal = join(root, "base");
  buildBase(baseLocal);
  for (const entries of SIZES) {
    if (entries % BASE_FILES !== 0) throw new Error(`sizes must be multiples of ${BASE_FILES}`);
    const tree = buildTree(entries, baseLocal);
    const copy = `${tree.path}-clone`;
    const localCopy = `${tree.local}-copy`;
    let copied = 0;
    const cloneMs = timeMs(() => (copied = service.clones.clone({ mount, source: { path: tree.path }, target: copy }).entries));
    rows.push({ entries: copied, phase: "clone", nokvMs: cloneMs, localMs: sh("cp", "-r", tree.local, localCopy), local: "cp -r" });

    const snap = service.snapshots.create({ mount, inode: dirOf(copy) });
    const changed = changeOnePercent(copy, localCopy);
    let found = 0;
    const diffMs = timeMs(() => (found = diffAll({ path: tree.path }, { path: copy })));
    if (found !== changed) throw new Error(`diff found ${found} changes, ${changed} were made`);
    rows.push({ entries: copied, phase: `diff, ${changed} changed`, nokvMs: diffMs, localMs: sh("diff", "-r", tree.local, localCopy), local: "diff -r" });

    let restored = 0;
    const rollbackMs = timeMs(() => (restored = service.rollbacks.rollback({ mount, path: copy, snapshotId: snap.snapshotId }).changed));
    if (restored !== changed) throw new Error(`rollback changed ${restored} entries, ${changed} were changed`);
    const localRestoreMs = sh("rm", "-rf", localCopy) + sh("cp", "-r", tree.local, localCopy);
    rows.push({ entries: copied, phase: `rollback, ${changed} changed`, nokvMs: rollbackMs, localMs: localRestoreMs, local: "rm -rf + cp -r" });
    if (diffAll({ path: copy, at: snap.readVersion, root: snap.rootInode }, { path: copy }) !== 0) throw new Error("rollback left differences");
    service.snapshots.retire({ mount, snapshotId: snap.snapshotId });
    rmSync(localCopy, { recursive: true, force: true });
    rmSync(tree.local, { recursive: true, force: true });
  }
  if (json) console.log(JSON.stringify({ rows }, null, 2));
  else {
    console.log("agent workspaces, in process on SQLite (one command each) vs the same tree on local disk");
    console.log(["entries", "phase", "NoKV ms", "local ms", "local tool", "local/NoKV"].join("\t"));
    for (const r of rows) {
      console.log([r.entries, r.phase, r.nokvMs.toFixed(1), r.localMs.toFixed(1), r.local, `${(r.localMs / r.nokvMs).toFixed(2)}x`].join("\t"));
    }
  }
} finally {
  service.close();
  rmSync(root, { recursive: true, force: true });
}
