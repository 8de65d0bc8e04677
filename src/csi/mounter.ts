import { spawn, spawnSync } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LIMITS } from "../types/index.ts";
import { CsiCode, CsiError } from "./errors.ts";

// The node's mount work: a FUSE mount of a NoKV mount is served by its own process (`nokv-fs
// mount`, on Bun), started detached so that it outlives a restart of the driver; binds into pod
// target paths use mount(8). What is mounted where is read back from /proc/self/mountinfo.

export interface MountEntry {
  mountpoint: string;
  fsType: string;
  /** Mount options of this mount point (ro or rw first). */
  options: string[];
  /** The path inside its filesystem this mount shows (a bind of a subdirectory shows that path). */
  root: string;
}

/** Mountinfo's octal escapes (\040 is a space). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function mountTable(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6) continue;
    out.push({ root: unescape(fields[3]!), mountpoint: unescape(fields[4]!), options: fields[5]!.split(","), fsType: fields[dash + 1]! });
  }
  return out;
}

/** The topmost mount at `path`, or null when nothing is mounted there. */
export function mountAt(path: string): MountEntry | null {
  const all = mountTable().filter((m) => m.mountpoint === path);
  return all.at(-1) ?? null;
}

/** The Bun binary and script that run `nokv-fs mount` (the FUSE bindings need Bun's FFI). */
export function fuseCommand(): { bun: string; script: string } {
  const bun = process.versions.bun ? process.execPath : findBun();
  if (!bun) throw new Error("the node service mounts through `nokv-fs mount`, which needs Bun: install it (npm install bun) or set NOKV_BUN");
  // From src/csi/ in a checkout or package; from dist/cli/ when the CLI was bundled for Node.
  const candidates = [new URL("../fuse/mount-main.ts", import.meta.url), new URL("../../src/fuse/mount-main.ts", import.meta.url)].map((u) => fileURLToPath(u));
  const script = candidates.find((p) => existsSync(p));
  if (!script) throw new Error(`cannot find the FUSE mount program (looked at ${candidates.join(", ")})`);
  return { bun, script };
}

/** NOKV_BUN, the `bun` npm package, then bun on PATH (as bin/nokv-fs.mjs looks). */
function findBun(): string | null {
  if (process.env.NOKV_BUN) return process.env.NOKV_BUN;
  try {
    const packaged = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin", "bun.exe");
    if (existsSync(packaged)) return packaged;
  } catch {
    // no bun package
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir && existsSync(join(dir, "bun"))) return join(dir, "bun");
  return null;
}

export interface FuseMountSpec {
  mountpoint: string;
  server: string;
  token: string | undefined;
  mount: string;
  readOnly: boolean;
  logFile: string;
}

/**
 * Starts the mount process and waits until the kernel shows the mount; returns its pid. The
 * token goes through the environment (argv is world-readable in /proc).
 */
export async function startFuseMount(spec: FuseMountSpec): Promise<number> {
  const { bun, script } = fuseCommand();
  const args = [script, "mount", spec.mountpoint, "--server", spec.server, "--mount", spec.mount, "--allow-other", ...(spec.readOnly ? ["--read-only"] : [])];
  const log = openSync(spec.logFile, "a", 0o600);
  const env: Record<string, string | undefined> = { ...process.env, NOKV_TOKEN: spec.token };
  if (!spec.token) delete env.NOKV_TOKEN;
  const child = spawn(bun, args, { detached: true, stdio: ["ignore", log, log], env });
  closeSync(log);
  let exited: string | null = null;
  child.on("exit", (code, signal) => (exited = signal ?? `status ${code}`));
  child.unref();
  const deadline = Date.now() + LIMITS.csiMountReadyTimeoutMs;
  while (Date.now() < deadline) {
    if (mountAt(spec.mountpoint)?.fsType.startsWith("fuse")) return child.pid!;
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited === null) child.kill("SIGKILL");
  throw new CsiError(CsiCode.INTERNAL, `mounting NoKV mount '${spec.mount}' at ${spec.mountpoint} failed (${exited ?? "not mounted in time"}): ${logTail(spec.logFile)}`);
}

export function logTail(file: string): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.slice(-LIMITS.csiMountLogTailBytes).trim() || "(no output)";
  } catch {
    return "(no log)";
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a mount process (it unmounts on SIGTERM), escalating to SIGKILL. */
export async function stopProcess(pid: number): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + LIMITS.csiMountExitTimeoutMs;
  while (Date.now() < deadline && processAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (processAlive(pid)) process.kill(pid, "SIGKILL");
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new CsiError(CsiCode.INTERNAL, `${cmd} ${args.join(" ")} failed: ${(r.stderr || r.error?.message || `status ${r.status}`).trim()}`);
}

/** Binds `source` at `target`, read-only when asked (a bind takes ro only on a remount). */
export function bindMount(source: string, target: string, readOnly: boolean): void {
  run("mount", ["--bind", source, target]);
  if (readOnly) {
    try {
      run("mount", ["-o", "remount,bind,ro", target]);
    } catch (err) {
      unmount(target);
      throw err;
    }
  }
}

/** Unmounts `target` if anything is mounted there; lazily, so a busy mount goes when unused. */
export function unmount(target: string): void {
  while (mountAt(target)) run("umount", ["-l", target]);
}
