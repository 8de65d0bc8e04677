// What one client's write costs, one request at a time (a FUSE mount creating files, an agent's
// tool call): the round trip of create_prepared and of a read (getattr) on the same connection,
// and how many WAL pages each create's commit wrote, by table, read from the WAL and mapped
// through SQLite's dbstat. Pages per commit are what a single writer's latency is made of.
// Then a small file as the mount writes one (create + write + close): create_prepared, the put of
// its one 4 KiB block into the object store, and the publish that names it, each timed apart.
// `bun bench/write-latency.bench.ts [--creates N] [--json]`.
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../src/sdk/index.ts";
import { emptyBase, freshBlock, patchManifest } from "../src/sdk/body-patch.ts";
import { LIMITS, ROOT_INODE } from "../src/types/index.ts";
import { spawnMetad } from "./lib/run.ts";

const args = process.argv.slice(2);
const creates = Number(args[args.indexOf("--creates") + 1] ?? 0) || 2_000;
const json = args.includes("--json");
const say = (line: string) => json || console.log(line);
const WARMUP = 200;

/**
 * Pages of each committed transaction in the WAL's current generation, oldest first (frames of
 * one commit end with a non-zero size field). After a checkpoint the WAL restarts from its start
 * with new salts; frames left from the generation before carry the old salts and are not counted.
 */
function walCommits(walPath: string): { salt: string; commits: number[][] } {
  const wal = readFileSync(walPath);
  if (wal.length < 32) return { salt: "", commits: [] };
  const pageSize = wal.readUInt32BE(8);
  const salt = wal.subarray(16, 24).toString("hex");
  const commits: number[][] = [];
  let current: number[] = [];
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.subarray(at + 8, at + 16).toString("hex") !== salt) break;
    current.push(wal.readUInt32BE(at));
    if (wal.readUInt32BE(at + 4) !== 0) {
      commits.push([...new Set(current)]);
      current = [];
    }
  }
  return { salt, commits };
}

const dir = mkdtempSync(join(tmpdir(), "nokv-bench-writelat-"));
// No GC while measuring; the WAL then holds the run's commits until a checkpoint restarts it.
const metad = await spawnMetad(join(dir, "meta"), join(dir, "objects"));
const port = metad.port;
const client = await connect(`nokv://127.0.0.1:${port}`);
const owner = { mode: 0o644, uid: 0, gid: 0 };
const rows: Array<{ what: string; value: number; unit: string }> = [];
try {
  for (let i = 0; i < WARMUP; i++) await client.inode.createPrepared(ROOT_INODE, `w${i}`, owner, { expiryMs: 60_000 });
  let started = performance.now();
  for (let i = 0; i < creates; i++) await client.inode.getattr(ROOT_INODE);
  const readUs = ((performance.now() - started) * 1000) / creates;
  const walBefore = walCommits(join(dir, "meta", "meta.db-wal"));
  started = performance.now();
  for (let i = 0; i < creates; i++) await client.inode.createPrepared(ROOT_INODE, `f${i}`, owner, { expiryMs: 60_000 });
  const writeUs = ((performance.now() - started) * 1000) / creates;
  const walAfter = walCommits(join(dir, "meta", "meta.db-wal"));
  // A restart during the run leaves only its later commits to read: still a sample of the same commits.
  const commits = walAfter.salt === walBefore.salt ? walAfter.commits.slice(walBefore.commits.length) : walAfter.commits;
  const db = new Database(join(dir, "meta", "meta.db"), { readonly: true });
  const tableOf = new Map<number, string>();
  for (const r of db.query("SELECT name, pageno FROM dbstat").all() as Array<{ name: string; pageno: number }>) tableOf.set(r.pageno, r.name);
  db.close();
  const byTable = new Map<string, number>();
  for (const pages of commits) for (const p of pages) byTable.set(tableOf.get(p) ?? "other", (byTable.get(tableOf.get(p) ?? "other") ?? 0) + 1);
  const pagesPerCommit = commits.reduce((n, c) => n + c.length, 0) / Math.max(1, commits.length);
  const smallFile = await smallFiles(creates);
  rows.push(
    { what: "create_prepared round trip, 1 client", value: writeUs, unit: "µs" },
    { what: "getattr round trip, 1 client (floor: a read)", value: readUs, unit: "µs" },
    { what: "WAL pages per create commit", value: pagesPerCommit, unit: "pages" },
    ...[...byTable].sort((a, b) => b[1] - a[1]).map(([table, n]) => ({ what: `  pages of ${table} per commit`, value: n / Math.max(1, commits.length), unit: "pages" })),
    { what: "small file: create_prepared round trip", value: smallFile.createUs, unit: "µs" },
    { what: "small file: put of its 4 KiB block", value: smallFile.putUs, unit: "µs" },
    { what: "small file: publish round trip", value: smallFile.publishUs, unit: "µs" },
  );
  say(`one client, one request at a time, ${creates} each:`);
  say(`  create_prepared ${writeUs.toFixed(0)} µs per round trip beside getattr ${readUs.toFixed(0)} µs (${(writeUs / readUs).toFixed(1)}x a read)`);
  say(`  small file (create_prepared, put 4 KiB, publish): ${smallFile.createUs.toFixed(0)} + ${smallFile.putUs.toFixed(0)} + ${smallFile.publishUs.toFixed(0)} µs = ${(smallFile.createUs + smallFile.putUs + smallFile.publishUs).toFixed(0)} µs, ${((smallFile.createUs + smallFile.putUs + smallFile.publishUs) / readUs).toFixed(1)}x a read`);
  say(`  ${commits.length} commits read from the WAL (it restarts at checkpoints), ${pagesPerCommit.toFixed(1)} pages each: ${[...byTable].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${(n / commits.length).toFixed(1)}`).join(", ")}`);
} finally {
  client.close();
  await metad.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (json) console.log(JSON.stringify(rows));

/** Mean time of each step of `n` small files written one after another, as the mount writes them. */
async function smallFiles(n: number): Promise<{ createUs: number; putUs: number; publishUs: number }> {
  const bytes = new Uint8Array(4096).fill(7);
  let createMs = 0;
  let putMs = 0;
  let publishMs = 0;
  for (let i = 0; i < n; i++) {
    let at = performance.now();
    const { attrs, prepared } = await client.inode.createPrepared(ROOT_INODE, `s${i}`, owner, { expiryMs: 60_000 });
    createMs += performance.now() - at;
    at = performance.now();
    const block = freshBlock(prepared, prepared.blockSizeBytes, 0, bytes);
    await client.inode.putBlock(block.key, bytes);
    putMs += performance.now() - at;
    at = performance.now();
    const manifest = patchManifest(emptyBase(attrs.generation, LIMITS.chunkSizeBytes, prepared.blockSizeBytes), {
      sizeBytes: bytes.byteLength, baseValidBytes: 0, replaced: new Map([[0, block]]), producer: "bench",
    });
    await client.inode.publishManifest(ROOT_INODE, `s${i}`, prepared.prepareId, manifest, { ifGeneration: attrs.generation, patch: true, mode: 0o644 });
    publishMs += performance.now() - at;
  }
  return { createUs: (createMs * 1000) / n, putUs: (putMs * 1000) / n, publishUs: (publishMs * 1000) / n };
}
