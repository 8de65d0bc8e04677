// The FUSE mount as an agent's workspace, against a local directory on the same disk and, when
// Debian's rclone is installed, against the peer a user would pick instead: `rclone mount` of a
// local directory with --vfs-cache-mode writes. The same commands in the same run, each timed as
// a whole; metad in its own process (file:// objects on this disk), the mount served by
// `bun src/fuse/mount-main.ts`. Each workload has the issue's target (mount time / local time)
// and the table says whether it was met.
//   create N x 4 KiB files (one process writing them one after another)      target <= 10x
//   find, du and tar over a cold tree of small files (kernel caches dropped)  target <= 5x
//   tar x of that tree (each file: create, write, futimens, fchown, fchmod, close)  (reported)
//   ls -l of N files                                                          (reported)
//   git clone of a repository of small files                                  target <= 3x
//   100 small SQLite transactions into a 5 MB and a 50 MB database (5 MB only with --quick)  target <= 5x
//   sequential read of a 1 GiB file with caches dropped (100 MiB --quick)     target >= 1 GB/s
//   peak memory of the mount process while copying that file in               target <= 256 MiB
// Needs root and /dev/fuse. Run: ./node_modules/.bin/bun bench/fuse.bench.ts [--quick] [--json] [--only NAME]
// where NAME is one workload: create, find, tar, untar, ls, git, sqlite, big (the copy's memory and the read).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnServer } from "./lib/run.ts";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const FILES = quick ? 2_000 : 10_000;
const TREE_DIRS = quick ? 20 : 80;
const TREE_FILES_PER_DIR = 100;
const TREE_FILE_BYTES = 4096;
const BIG_MIB = quick ? 100 : 1024;
const DB_SIZES_MB = quick ? [5] : [5, 50];
const WORKLOADS = ["create", "find", "tar", "untar", "ls", "git", "sqlite", "big"] as const;
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
if (only !== undefined && !(WORKLOADS as readonly string[]).includes(only)) throw new Error(`--only ${only}: one of ${WORKLOADS.join(", ")}`);
const runs = (name: (typeof WORKLOADS)[number]) => only === undefined || only === name;
const ROUNDS = quick ? 1 : 3;
const BUN = process.execPath;
const ROOT = resolve(import.meta.dir, "..");
const DROP_CACHES = "sync && echo 3 > /proc/sys/vm/drop_caches";

type Side = "local" | "nokv" | "rclone";

interface Row {
  workload: string;
  items: number;
  ms: Partial<Record<Side, number>>;
  /** The issue's target for nokv / local (time ratio), or a floor in items per second. */
  target: { maxRatio: number } | { minPerSec: number; unit: string } | null;
}

async function sh(script: string): Promise<string> {
  const proc = Bun.spawn(["bash", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`'${script}' exited ${code}: ${stderr}`);
  return stdout;
}

async function timed(script: string): Promise<number> {
  const started = performance.now();
  await sh(script);
  return performance.now() - started;
}

interface Served {
  pid: number;
  stop: () => Promise<void>;
}

async function startNoKV(url: string, mountpoint: string): Promise<Served> {
  const proc = Bun.spawn([BUN, join(ROOT, "src/fuse/mount-main.ts"), "mount", mountpoint, "--server", url], { stdout: "pipe", stderr: "inherit" });
  let text = "";
  for await (const chunk of proc.stdout) {
    text += new TextDecoder().decode(chunk);
    if (text.includes("nokv-fs: serving")) break;
  }
  if (!text.includes("nokv-fs: serving")) throw new Error(`mount failed: ${text}`);
  return {
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

function mounted(mountpoint: string): boolean {
  return readFileSync("/proc/mounts", "utf8").split("\n").some((line) => line.split(" ")[1] === mountpoint);
}

/** rclone's mount of a local directory, as its users run it for a writable workspace. */
async function startRclone(remote: string, mountpoint: string, cacheDir: string): Promise<Served | null> {
  if ((await sh("command -v rclone || true")).trim() === "") return null;
  const proc = Bun.spawn(["rclone", "mount", remote, mountpoint, "--vfs-cache-mode", "writes", "--cache-dir", cacheDir, "--config", "/dev/null"], { stdout: "ignore", stderr: "pipe" });
  for (let i = 0; i < 100 && !mounted(mountpoint); i++) await Bun.sleep(100);
  if (!mounted(mountpoint)) {
    proc.kill("SIGKILL");
    return null;
  }
  return {
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
      if (mounted(mountpoint)) await sh(`umount -l ${mountpoint}`);
    },
  };
}

/**
 * One workload on every side, in $T (a fresh directory per round, $R the round): `prepare`
 * untimed (then caches dropped when `cold`), `script` timed. The median of the rounds.
 */
async function each(rows: Row[], sides: Map<Side, string>, spec: { workload: string; items: number; script: string; prepare?: string; cold?: boolean; target: Row["target"] }): Promise<void> {
  const row: Row = { workload: spec.workload, items: spec.items, ms: {}, target: spec.target };
  for (const [side, base] of sides) {
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const env = `R=${round}; T=${base}/${spec.workload.replace(/\W+/g, "-")}-${round}; mkdir -p $T;`;
      if (spec.prepare) await sh(`${env} ${spec.prepare}`);
      await sh(spec.cold ? DROP_CACHES : "sync");
      times.push(await timed(`${env} ${spec.script}`));
    }
    row.ms[side] = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  }
  rows.push(row);
  if (!json) console.error(`  ${spec.workload}: ${[...sides.keys()].map((s) => `${s} ${row.ms[s]!.toFixed(0)} ms`).join(", ")}`);
}

function makeTree(dir: string): void {
  for (let d = 0; d < TREE_DIRS; d++) {
    mkdirSync(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < TREE_FILES_PER_DIR; f++) writeFileSync(join(dir, `d${d}`, `f${f}.txt`), randomBytes(TREE_FILE_BYTES));
  }
}

/** Peak resident memory of a mount process over a run, and what it held when the run began. */
interface MemoryUse {
  peakMiB: number;
  startMiB: number;
}

function statusMiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kib ?? 0) / 1024;
}

/** VmHWM, reset first so it covers only what follows (what earlier workloads left resident included). */
async function peakRss(pid: number, run: () => Promise<unknown>): Promise<MemoryUse> {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  const startMiB = statusMiB(pid, "VmRSS");
  await run();
  return { peakMiB: statusMiB(pid, "VmHWM"), startMiB };
}

const PY_CREATE = `import os,sys
d=sys.argv[1]; data=os.urandom(4096)
for i in range(int(sys.argv[2])):
    with open(f"{d}/f{i}","wb") as f: f.write(data)`;

const PY_SQLITE_PREPARE = `import sqlite3,sys,os
db=sqlite3.connect(sys.argv[1]); db.execute("create table t(k integer primary key, v blob)")
with db:
    for i in range(int(sys.argv[2])): db.execute("insert into t(v) values (?)", (os.urandom(4000),))
db.close()`;

const PY_SQLITE_TX = `import sqlite3,sys
db=sqlite3.connect(sys.argv[1], isolation_level=None)
for i in range(100):
    db.execute("begin"); db.execute("insert into t(v) values (?)", (b"x"*100,)); db.execute("commit")
db.close()`;

function ratioText(row: Row, side: Side): string {
  const local = row.ms.local!;
  const ms = row.ms[side];
  return ms === undefined ? "-" : `${(ms / local).toFixed(1)}x`;
}

function verdict(row: Row): string {
  const ms = row.ms.nokv!;
  if (!row.target) return "";
  if ("maxRatio" in row.target) return ms / row.ms.local! <= row.target.maxRatio ? `met (<= ${row.target.maxRatio}x)` : `MISSED (<= ${row.target.maxRatio}x)`;
  const perSec = (row.items * 1000) / ms;
  return perSec >= row.target.minPerSec ? `met (>= ${row.target.minPerSec} ${row.target.unit})` : `MISSED (>= ${row.target.minPerSec} ${row.target.unit})`;
}

function print(rows: Row[], memory: Partial<Record<Side, MemoryUse>>): void {
  if (json) {
    console.log(JSON.stringify({ rows: rows.map((r) => ({ ...r, nokvToLocal: r.ms.nokv! / r.ms.local!, rcloneToLocal: r.ms.rclone === undefined ? null : r.ms.rclone / r.ms.local! })), mountRssMiB: memory }));
    return;
  }
  const fmt = (n: number | undefined) => (n === undefined ? "-" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
  const header = ["workload", "items", "local ms", "nokv ms", "rclone ms", "nokv/local", "rclone/local", "target"];
  const lines = rows.map((r) => [r.workload, r.items.toLocaleString("en-US"), fmt(r.ms.local), fmt(r.ms.nokv), fmt(r.ms.rclone), ratioText(r, "nokv"), ratioText(r, "rclone"), verdict(r)]);
  if (memory.nokv !== undefined) {
    const peak = memory.nokv.peakMiB;
    lines.push([`peak mount RSS copying ${BIG_MIB} MiB in (MiB)`, "", "", fmt(peak), fmt(memory.rclone?.peakMiB), "", "", peak <= 256 ? "met (<= 256 MiB)" : "MISSED (<= 256 MiB)"]);
    lines.push(["  of it resident before the copy (MiB)", "", "", fmt(memory.nokv.startMiB), fmt(memory.rclone?.startMiB), "", "", ""]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  console.log(`\nFUSE mount vs local directory vs rclone mount (same disk, same run${quick ? ", --quick" : ""})`);
  for (const line of [header, widths.map((w) => "-".repeat(w)), ...lines]) console.log(line.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

/** The big file: copied in (peak memory of each mount process), then read with caches dropped. */
async function bigFile(rows: Row[], sides: Map<Side, string>, big: string, memory: Partial<Record<Side, MemoryUse>>, pids: Partial<Record<Side, number>>): Promise<void> {
  await sh(`dd if=/dev/urandom of=${big} bs=1M count=${BIG_MIB} status=none`);
  for (const [side, base] of sides) {
    const pid = pids[side];
    const copy = () => sh(`cp ${big} ${base}/big`);
    if (pid === undefined) await copy();
    else memory[side] = await peakRss(pid, copy);
  }
  await each(rows, sides, { workload: `sequential read ${BIG_MIB} MiB, cold (MiB)`, items: BIG_MIB, prepare: `test -e $T/../big`, cold: true, script: "dd if=$T/../big of=/dev/null bs=1M status=none", target: { minPerSec: 954, unit: "MiB/s = 1 GB/s" } });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync("/dev/fuse")) {
    console.error("fuse bench: skipped, it needs root and /dev/fuse (it mounts with mount(2))");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "nokv-bench-fuse-"));
  const sides = new Map<Side, string>([["local", join(dir, "local")], ["nokv", join(dir, "mnt")]]);
  for (const d of ["local", "mnt", "rclone-remote", "rclone-mnt", "rclone-cache"]) mkdirSync(join(dir, d));
  const tree = join(dir, "tree");
  if (runs("find") || runs("tar") || runs("untar")) makeTree(tree);
  const treeTar = join(dir, "tree.tar");
  if (runs("untar")) await sh(`tar -C ${dir} -cf ${treeTar} tree`);
  const repo = join(dir, "repo");
  if (runs("git")) await sh(`mkdir ${repo} && cp -r ${join(ROOT, "src")} ${join(ROOT, "test")} ${join(ROOT, "docs")} ${repo}/ && cd ${repo} && git init -q && git -c user.email=b@example.com -c user.name=bench add . && git -c user.email=b@example.com -c user.name=bench commit -qm tree`);
  const repoFiles = runs("git") ? Number((await sh(`cd ${repo} && git ls-files | wc -l`)).trim()) : 0;
  const metad = await spawnServer([BUN, join(ROOT, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "meta"), "--objects", `file://${join(dir, "objects")}`, "--gc-interval-ms", "0"]);
  const nokv = await startNoKV(`nokv://127.0.0.1:${metad.port}`, sides.get("nokv")!);
  const rclone = await startRclone(join(dir, "rclone-remote"), join(dir, "rclone-mnt"), join(dir, "rclone-cache"));
  if (rclone) sides.set("rclone", join(dir, "rclone-mnt"));
  else if (!json) console.error("  rclone not installed (apt-get install rclone): no peer column");
  const rows: Row[] = [];
  const memory: Partial<Record<Side, MemoryUse>> = {};
  const treeFiles = TREE_DIRS * TREE_FILES_PER_DIR;
  try {
    if (runs("create")) await each(rows, sides, { workload: `create ${FILES} x 4 KiB files`, items: FILES, script: `python3 -c '${PY_CREATE}' $T ${FILES}`, target: { maxRatio: 10 } });
    const copyTree = `cp -r ${tree} $T/tree`;
    if (runs("find")) await each(rows, sides, { workload: `find + du, cold ${treeFiles}-file tree`, items: treeFiles, prepare: copyTree, cold: true, script: "find $T/tree > /dev/null && du -s $T/tree > /dev/null", target: { maxRatio: 5 } });
    if (runs("tar")) await each(rows, sides, { workload: `tar, cold ${treeFiles}-file tree`, items: treeFiles, prepare: copyTree, cold: true, script: "tar -C $T -cf - tree | cat > /dev/null", target: { maxRatio: 5 } });
    if (runs("untar")) await each(rows, sides, { workload: `tar x of a ${treeFiles}-file tree`, items: treeFiles, script: `tar -C $T -xf ${treeTar}`, target: null });
    if (runs("ls")) await each(rows, sides, { workload: `ls -l of ${FILES} files`, items: FILES, prepare: `python3 -c '${PY_CREATE}' $T ${FILES}`, cold: true, script: "ls -l $T > /dev/null", target: null });
    if (runs("git")) await each(rows, sides, { workload: `git clone (${repoFiles} files)`, items: repoFiles, script: `git clone -q --no-hardlinks ${repo} $T/clone`, target: { maxRatio: 3 } });
    for (const dbMb of runs("sqlite") ? DB_SIZES_MB : []) {
      await each(rows, sides, { workload: `100 SQLite transactions, ${dbMb} MB db`, items: 100, prepare: `python3 -c '${PY_SQLITE_PREPARE}' $T/db ${dbMb * 250}`, script: `python3 -c '${PY_SQLITE_TX}' $T/db`, target: { maxRatio: 5 } });
    }
    if (runs("big")) await bigFile(rows, sides, join(dir, "big"), memory, { nokv: nokv.pid, rclone: rclone?.pid });
  } finally {
    await nokv.stop();
    await rclone?.stop();
    await metad.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  print(rows, memory);
}

await main();
