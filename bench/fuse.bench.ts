// The FUSE mount against a local directory on the same disk, the same shell commands in the
// same run: metad in its own process (file:// objects on this disk), the mount served by
// `bun src/fuse/mount-main.ts`, each workload timed as a whole command.
//   stat 10,000 files (attributes cached by the kernel), create 10,000 empty files,
//   cp -r of a tree of small files, sequential write and read of a 1 GiB file (100 MiB with --quick)
// Needs root and /dev/fuse. Run: ./node_modules/.bin/bun bench/fuse.bench.ts [--quick] [--json]
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnServer } from "./lib/run.ts";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const FILES = 10_000;
const TREE_DIRS = 20;
const TREE_FILES_PER_DIR = 100;
const TREE_FILE_BYTES = 4096;
const BIG_MIB = quick ? 100 : 1024;
const BUN = process.execPath;
const ROOT = resolve(import.meta.dir, "..");

interface Row {
  workload: string;
  items: number;
  localMs: number;
  mountMs: number;
}

async function sh(script: string): Promise<void> {
  const proc = Bun.spawn(["bash", "-c", script], { stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`'${script}' exited ${code}: ${stderr}`);
}

async function timed(script: string): Promise<number> {
  const started = performance.now();
  await sh(script);
  return performance.now() - started;
}

async function startMount(url: string, mountpoint: string): Promise<{ stop: () => Promise<void> }> {
  const proc = Bun.spawn([BUN, join(ROOT, "src/fuse/mount-main.ts"), "mount", mountpoint, "--server", url], { stdout: "pipe", stderr: "inherit" });
  let text = "";
  for await (const chunk of proc.stdout) {
    text += new TextDecoder().decode(chunk);
    if (text.includes("nokv-fs: serving")) break;
  }
  if (!text.includes("nokv-fs: serving")) throw new Error(`mount failed: ${text}`);
  return {
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/**
 * One workload on both sides, in $T (a fresh directory per round, $R the round): `prepare`
 * untimed, then `script` timed, after a sync so the disk is not still busy with the previous
 * round. The median of `rounds` rounds, since a shared 2-core machine is noisy.
 */
async function both(rows: Row[], spec: { workload: string; items: number; script: string; prepare?: string; rounds: number }, dirs: { local: string; mount: string }): Promise<void> {
  const medians: number[] = [];
  for (const base of [dirs.local, dirs.mount]) {
    const times: number[] = [];
    for (let round = 0; round < spec.rounds; round++) {
      const env = `R=${round}; T=${base}/r${round}; mkdir -p $T;`;
      if (spec.prepare) await sh(`${env} ${spec.prepare}`);
      await sh("sync");
      times.push(await timed(`${env} ${spec.script}`));
    }
    medians.push(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!);
  }
  rows.push({ workload: spec.workload, items: spec.items, localMs: medians[0]!, mountMs: medians[1]! });
  if (!json) console.error(`  ${spec.workload}: local ${medians[0]!.toFixed(0)} ms, mount ${medians[1]!.toFixed(0)} ms`);
}

function makeTree(dir: string): void {
  for (let d = 0; d < TREE_DIRS; d++) {
    mkdirSync(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < TREE_FILES_PER_DIR; f++) writeFileSync(join(dir, `d${d}`, `f${f}.txt`), randomBytes(TREE_FILE_BYTES));
  }
}

function print(rows: Row[]): void {
  if (json) {
    console.log(JSON.stringify(rows.map((r) => ({ ...r, ratioToLocal: r.mountMs / r.localMs }))));
    return;
  }
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
  const header = ["workload", "items", "local ms", "mount ms", "local items/s", "mount items/s", "mount / local time"];
  const lines = rows.map((r) => [
    r.workload, r.items.toLocaleString("en-US"), fmt(r.localMs), fmt(r.mountMs),
    fmt((r.items * 1000) / r.localMs), fmt((r.items * 1000) / r.mountMs), `${(r.mountMs / r.localMs).toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  console.log(`\nFUSE mount vs local directory (same disk, same run${quick ? ", --quick" : ""})`);
  for (const line of [header, widths.map((w) => "-".repeat(w)), ...lines]) console.log(line.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync("/dev/fuse")) {
    console.error("fuse bench: skipped, it needs root and /dev/fuse (it mounts with mount(2))");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "nokv-bench-fuse-"));
  const dirs = { local: join(dir, "local"), mount: join(dir, "mnt") };
  mkdirSync(dirs.local);
  mkdirSync(dirs.mount);
  makeTree(join(dir, "tree"));
  const metad = await spawnServer([BUN, join(ROOT, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "meta"), "--objects", `file://${join(dir, "objects")}`, "--gc-interval-ms", "0"]);
  const mount = await startMount(`nokv://127.0.0.1:${metad.port}`, dirs.mount);
  const rows: Row[] = [];
  try {
    const statAll = `cd $T/c && ls -f | grep -v '^\\.' | xargs stat -c %s > /dev/null`;
    const makeFiles = `mkdir $T/c && cd $T/c && seq -f 'f%05g' 1 ${FILES} | xargs touch`;
    await both(rows, { workload: "create empty files", items: FILES, script: makeFiles, rounds: 3 }, dirs);
    await both(rows, { workload: "stat files (cached)", items: FILES, prepare: statAll, script: statAll, rounds: 3 }, dirs);
    const treeFiles = TREE_DIRS * TREE_FILES_PER_DIR;
    await both(rows, { workload: `cp -r tree (${treeFiles} x ${TREE_FILE_BYTES / 1024} KiB)`, items: treeFiles, script: `cp -r ${join(dir, "tree")} $T/tree`, rounds: 3 }, dirs);
    await both(rows, { workload: `sequential write ${BIG_MIB} MiB (MiB)`, items: BIG_MIB, script: `dd if=/dev/zero of=$T/big bs=1M count=${BIG_MIB} status=none`, rounds: 1 }, dirs);
    const readBig = `dd if=$T/big of=/dev/null bs=1M status=none`;
    await both(rows, { workload: `sequential read ${BIG_MIB} MiB (MiB)`, items: BIG_MIB, prepare: "sync && echo 3 > /proc/sys/vm/drop_caches", script: readBig, rounds: 1 }, dirs);
  } finally {
    await mount.stop();
    await metad.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  print(rows);
}

await main();
