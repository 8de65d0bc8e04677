// What one create costs metad in CPU, measured from /proc so a shared machine's scheduling does
// not distort it, beside the bare bun:sqlite floor's CPU for the same rows: batched (256 names
// per request) and unbatched (one create in flight per client), and a lookup by inode with 256 in
// flight beside the floor's dentry + inode read; unbatched create_prepared (what a mount sends per
// new file) likewise; the echo server's CPU per request over as many connections (the unbatched
// rows' transport floor). Then two parts of the create path measured alone:
// the command log entry of a 256-name create, and the row cache at its limit beside the Map-front
// eviction it replaced.
// `bun bench/create-cpu.bench.ts [--rounds N] [--json]` (Linux: reads /proc/PID/stat).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { decodeCommand, encodeCommand } from "../src/schema/command-codec.ts";
import type { MetadataCommand } from "../src/schema/index.ts";
import { connect, type NoKVClient } from "../src/sdk/index.ts";
import { RpcClient } from "../src/sdk/rpc-client.ts";
import { NestedGenerations } from "../src/service/generations.ts";
import { ROOT_INODE } from "../src/types/index.ts";
import { SqliteFloor } from "./floors/sqlite-floor.ts";

const CLIENTS = 32;
const BATCH = 256;
/** Unbatched creates per client per round, each awaited before the next. */
const UNBATCHED_PER_CLIENT = 64;
const LOOKUPS_IN_FLIGHT = 256;
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 0) || 20;
const json = args.includes("--json");
const rows: Array<{ what: string; value: number; unit: string; floor?: number; floorName?: string; echoFloor?: number }> = [];
const say = (line: string) => json || console.log(line);

/** CPU seconds (user + system) of process `pid` so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function metadCpu(dir: string): Promise<void> {
  const main = new URL("../src/server/main.ts", import.meta.url).pathname;
  const child = Bun.spawn([process.execPath, main, "--listen", "127.0.0.1:0", "--data", join(dir, "meta"), "--gc-interval-ms", "0"], { stdout: "pipe", stderr: "inherit" });
  let text = "";
  const reader = child.stdout.getReader();
  while (!/ready on [^\s]*:\d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`metad exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const port = Number(/ready on [^\s]*:(\d+)/.exec(text)![1]);
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(`nokv://127.0.0.1:${port}`)));
  try {
    for (const shape of ["32 directories", "one directory"] as const) {
      let creates = 0;
      let wallMs = 0;
      const before = cpuSeconds(child.pid);
      for (let r = 0; r < rounds; r++) {
        const root = await clients[0]!.inode.mkdir(ROOT_INODE, `${shape.startsWith("32") ? "e" : "h"}${r}`);
        const dirs = shape === "one directory" ? [root.inode] : await Promise.all(clients.map(async (_, i) => (await clients[0]!.inode.mkdir(root.inode, `c${i}`)).inode));
        const started = performance.now();
        await Promise.all(clients.map((c, i) => c.batch(Array.from({ length: BATCH }, (_, k) => ({ op: "create", args: { parent: dirs[dirs.length === 1 ? 0 : i]!, name: `c${i}-f${k}` } })))));
        wallMs += performance.now() - started;
        creates += CLIENTS * BATCH;
      }
      const cpuUs = ((cpuSeconds(child.pid) - before) * 1e6) / creates;
      rows.push({ what: `metad CPU per batched create, ${shape}`, value: cpuUs, unit: "µs" }, { what: `batched creates, ${shape}`, value: (creates / wallMs) * 1000, unit: "/s" });
      say(`  ${shape}: ${creates} creates, metad CPU ${cpuUs.toFixed(1)} µs each, ${((creates / wallMs) * 1000).toFixed(0)} creates/s`);
    }
    await unbatchedAndLookups(clients, () => cpuSeconds(child.pid));
  } finally {
    for (const c of clients) c.close();
    child.kill("SIGTERM");
    await child.exited;
  }
  const floor = new SqliteFloor(join(dir, "floor.db"));
  try {
    const count = rounds * CLIENTS;
    const started = process.cpuUsage();
    for (let i = 0; i < count; i++) floor.create(BATCH);
    const used = process.cpuUsage(started);
    const floorUs = (used.user + used.system) / (count * BATCH);
    const floorOf = (fn: (i: number) => unknown, n: number) => {
      const t = process.cpuUsage();
      for (let i = 0; i < n; i++) fn(i);
      const u = process.cpuUsage(t);
      return (u.user + u.system) / n;
    };
    const singleUs = floorOf(() => floor.create(1), rounds * CLIENTS * UNBATCHED_PER_CLIENT);
    const statUs = floorOf((i) => floor.stat(i), rounds * CLIENTS * UNBATCHED_PER_CLIENT);
    for (const row of rows) {
      if (row.unit !== "µs") continue;
      if (row.what.includes("batched create")) Object.assign(row, row.what.includes("unbatched") ? { floor: singleUs, floorName: "bun:sqlite, 1 create per tx" } : { floor: floorUs, floorName: "bun:sqlite, 256 creates per tx" });
      else Object.assign(row, { floor: statUs, floorName: "bun:sqlite, dentry + inode read" });
    }
    say(`  floor: bun:sqlite writing the same rows, 256 per transaction: ${floorUs.toFixed(1)} µs CPU per create; 1 per transaction: ${singleUs.toFixed(1)} µs; a dentry + inode read: ${statUs.toFixed(1)} µs`);
  } finally {
    floor.close();
  }
}

/** Unbatched creates (every client one in flight) into one directory per round, then lookups of them. */
async function unbatchedAndLookups(clients: NoKVClient[], cpu: () => number): Promise<void> {
  const dirs: number[] = [];
  let before = cpu();
  let started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const dir = (await clients[0]!.inode.mkdir(ROOT_INODE, `u${r}`)).inode;
    dirs.push(dir);
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < UNBATCHED_PER_CLIENT; k++) await c.inode.create(dir, `c${i}-f${k}`);
    }));
  }
  const creates = rounds * CLIENTS * UNBATCHED_PER_CLIENT;
  const createUs = ((cpu() - before) * 1e6) / creates;
  const createRate = (creates / (performance.now() - started)) * 1000;
  rows.push({ what: "metad CPU per unbatched create, one directory", value: createUs, unit: "µs" }, { what: "unbatched creates, one directory", value: createRate, unit: "/s" });
  say(`  unbatched, ${CLIENTS} clients one in flight each: ${creates} creates, metad CPU ${createUs.toFixed(1)} µs each, ${createRate.toFixed(0)} creates/s`);
  // The same again: the first pass also pays for compiling the unbatched path (JSC's JIT threads
  // count in metad's CPU), the second shows it warm: a third less or more at 20 rounds here.
  before = cpu();
  for (let r = 0; r < rounds; r++) {
    const dir = (await clients[0]!.inode.mkdir(ROOT_INODE, `w${r}`)).inode;
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < UNBATCHED_PER_CLIENT; k++) await c.inode.create(dir, `c${i}-f${k}`);
    }));
  }
  const warmUs = ((cpu() - before) * 1e6) / creates;
  rows.push({ what: "metad CPU per unbatched create, one directory, second pass", value: warmUs, unit: "µs" });
  say(`  unbatched again (JIT warm): metad CPU ${warmUs.toFixed(1)} µs each`);
  // What a mount's create sends: the new file and its first prepare in one request.
  before = cpu();
  started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const dir = (await clients[0]!.inode.mkdir(ROOT_INODE, `p${r}`)).inode;
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < UNBATCHED_PER_CLIENT; k++) await c.inode.createPrepared(dir, `c${i}-f${k}`);
    }));
  }
  const preparedUs = ((cpu() - before) * 1e6) / creates;
  const preparedRate = (creates / (performance.now() - started)) * 1000;
  rows.push({ what: "metad CPU per unbatched create_prepared, one directory", value: preparedUs, unit: "µs" }, { what: "unbatched create_prepared, one directory", value: preparedRate, unit: "/s" });
  say(`  unbatched create_prepared, ${CLIENTS} clients one in flight each: ${creates} requests, metad CPU ${preparedUs.toFixed(1)} µs each, ${preparedRate.toFixed(0)}/s`);
  before = cpu();
  started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: LOOKUPS_IN_FLIGHT }, async () => {
    for (let i = next++; i < creates; i = next++) await clients[0]!.inode.lookup(dirs[i % dirs.length]!, `c${(i >> 5) % CLIENTS}-f${(i >> 10) % UNBATCHED_PER_CLIENT}`);
  }));
  const lookupUs = ((cpu() - before) * 1e6) / creates;
  const lookupRate = (creates / (performance.now() - started)) * 1000;
  rows.push({ what: `metad CPU per lookup by inode, ${LOOKUPS_IN_FLIGHT} in flight`, value: lookupUs, unit: "µs" }, { what: `lookups by inode, ${LOOKUPS_IN_FLIGHT} in flight`, value: lookupRate, unit: "/s" });
  say(`  lookup by inode, ${LOOKUPS_IN_FLIGHT} in flight: ${creates} lookups, metad CPU ${lookupUs.toFixed(1)} µs each, ${lookupRate.toFixed(0)} lookups/s`);
}

/**
 * The transport floor of the unbatched rows: the echo server's CPU per request (same framing and
 * codec, no semantics) with ${CLIENTS} connections, one request in flight on each, as metad sees
 * unbatched creates. (bun run bench's echo floor runs them all on one connection, where replies
 * share writes: a few µs each.)
 */
async function echoCpu(): Promise<void> {
  const server = new URL("./peers/echo-server.ts", import.meta.url).pathname;
  const child = Bun.spawn([process.execPath, server, "0"], { stdout: "pipe", stderr: "inherit" });
  let text = "";
  const reader = child.stdout.getReader();
  while (!/ready on [^\s]*:\d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`echo server exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const port = Number(/ready on [^\s]*:(\d+)/.exec(text)![1]);
  const clients = Array.from({ length: CLIENTS }, () => new RpcClient({ host: "127.0.0.1", port }));
  try {
    const args = { mount: 1, parent: 12_345, name: "c0-f0" };
    await Promise.all(clients.map((c) => c.call("echo", args)));
    const calls = rounds * CLIENTS * UNBATCHED_PER_CLIENT;
    const before = cpuSeconds(child.pid);
    await Promise.all(clients.map(async (c) => {
      for (let k = 0; k < calls / CLIENTS; k++) await c.call("echo", args);
    }));
    const echoUs = ((cpuSeconds(child.pid) - before) * 1e6) / calls;
    for (const row of rows) if (row.what.includes("unbatched create")) Object.assign(row, { echoFloor: echoUs });
    rows.push({ what: `echo server CPU per request, ${CLIENTS} connections one in flight each`, value: echoUs, unit: "µs/request" });
    say(`  floor: the echo server, ${CLIENTS} connections one in flight each: ${echoUs.toFixed(1)} µs CPU per request`);
  } finally {
    for (const c of clients) c.close();
    child.kill("SIGTERM");
    await child.exited;
  }
}

function logEntry(): void {
  const mount = 1;
  const parent = 5;
  const c: MetadataCommand = { shard: 1, version: 100, kind: "create_files", requestKey: "k", timestampMs: 1_700_000_000_000, nextId: 1000, keepHistory: false, predicates: [], mutations: [], watchEvents: [] };
  for (let i = 0; i < BATCH; i++) {
    const name = `c3-f${i}`;
    const key = { mount, parent, name };
    const inode = 1000 + i;
    const now = 1_700_000_000_000_000_000n;
    c.predicates.push({ kind: "notExists", target: { family: "dentry", key }, errno: "EEXIST", detail: `'${name}' already exists` });
    c.mutations.push(
      { family: "inode", op: "insert", key: { mount, inode }, value: { inode, type: "file", mode: 0o644, uid: 0, gid: 0, sizeBytes: 0, generation: 0, nlink: 1, parent, atimeNs: now, mtimeNs: now, ctimeNs: now, target: "", rdev: 0, holeBytes: 0 } },
      { family: "dentry", op: "insert", key, value: { inode, type: "file" } },
    );
    c.watchEvents.push({ mount, kind: "create", scope: parent, name, inode });
  }
  // The same entry with its predicates as maps: how entries were written before predicates became tuples.
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, structuredClone: false, bundleStrings: false, int64AsType: "bigint" });
  const asTuples = encodeCommand(c);
  const fields = packr.unpack(asTuples) as unknown[];
  fields[8] = c.predicates;
  const asMaps = packr.pack(fields);
  const timeUs = (fn: () => unknown) => {
    for (let i = 0; i < 200; i++) fn();
    const n = 2000;
    const started = performance.now();
    for (let i = 0; i < n; i++) fn();
    return ((performance.now() - started) * 1000) / n;
  };
  const decodeTuples = timeUs(() => decodeCommand(asTuples));
  const decodeMaps = timeUs(() => decodeCommand(asMaps));
  rows.push({ what: "log entry of a 256-name create", value: asTuples.byteLength, unit: "bytes", floor: asMaps.byteLength, floorName: "predicates as maps" });
  rows.push({ what: "decode of that entry", value: decodeTuples, unit: "µs", floor: decodeMaps, floorName: "predicates as maps" });
  say(`  log entry of a 256-name create: ${asTuples.byteLength} bytes (predicates as maps: ${asMaps.byteLength}); decode ${decodeTuples.toFixed(0)} µs (as maps: ${decodeMaps.toFixed(0)} µs); encode ${timeUs(() => encodeCommand(c)).toFixed(0)} µs`);
}

function rowCache(): void {
  const entries = 200_000;
  const inserts = 100_000;
  const value = { version: 1 };
  const generations = new NestedGenerations<object>(2, entries / 2);
  for (let i = 0; i < entries; i++) generations.set(1, i, undefined, value);
  let started = performance.now();
  for (let i = entries; i < entries + inserts; i++) generations.set(1, i, undefined, value);
  const generationsUs = ((performance.now() - started) * 1000) / inserts;
  // The design it replaced: one Map, its oldest key deleted on every insert past the limit.
  const front = new Map<number, object>();
  for (let i = 0; i < entries; i++) front.set(i, value);
  const frontInserts = 20_000; // enough to see it; 100,000 would take tens of seconds
  started = performance.now();
  for (let i = entries; i < entries + frontInserts; i++) {
    front.delete(front.keys().next().value!);
    front.set(i, value);
  }
  const frontUs = ((performance.now() - started) * 1000) / frontInserts;
  rows.push({ what: `row cache insert at its limit (${entries} rows)`, value: generationsUs, unit: "µs", floor: frontUs, floorName: "Map evicting its oldest key per insert" });
  say(`  row cache insert at ${entries} rows: two generations ${generationsUs.toFixed(2)} µs, Map evicting its oldest key ${frontUs.toFixed(1)} µs`);
}

const dir = mkdtempSync(join(tmpdir(), "nokv-create-cpu-"));
try {
  say(`create CPU bench: ${rounds} rounds of ${CLIENTS} clients x ${BATCH}-name batches, then x ${UNBATCHED_PER_CLIENT} single creates`);
  await metadCpu(dir);
  await echoCpu();
  logEntry();
  rowCache();
  if (json) console.log(JSON.stringify(rows));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
