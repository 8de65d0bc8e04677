import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { runUmount } from "../../src/fuse/mount-main.ts";
import { startMetad, type MetadHarness } from "../harness.ts";

// A real metad (in this process) and a real FUSE mount served by a child process running the
// CLI entry (`bun src/fuse/mount-main.ts mount ...`). Everything that touches the mount runs
// as a spawned program: this process also serves metad, so a synchronous call into the mount
// from here would wait on a FUSE server that waits on us.

const BUN = process.execPath;
const MOUNT_MAIN = resolve(import.meta.dir, "../../src/fuse/mount-main.ts");
const MOUNT_READY_TIMEOUT_MS = 15_000;
export const COMMAND_TIMEOUT_MS = 20_000;

const CAP_SYS_ADMIN_BIT = 21n;

/** Why FUSE tests cannot run here, or null when they can. */
export function fuseSkipReason(): string | null {
  if (process.platform !== "linux") return "FUSE tests need Linux";
  if (process.getuid?.() !== 0) return "FUSE tests need root (they mount with mount(2))";
  if (!existsSync("/dev/fuse")) return "FUSE tests need /dev/fuse";
  // A container may run as root yet without the capability mount(2) needs.
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  if (capEff === undefined || ((BigInt(`0x${capEff}`) >> CAP_SYS_ADMIN_BIT) & 1n) === 0n) return "FUSE tests need CAP_SYS_ADMIN";
  try {
    closeSync(openSync("/dev/fuse", "r+"));
  } catch (err) {
    return `FUSE tests cannot open /dev/fuse: ${(err as Error).message}`;
  }
  return null;
}

export function isMounted(mountpoint: string): boolean {
  return readFileSync("/proc/mounts", "utf8").split("\n").some((line) => line.split(" ")[1] === mountpoint);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bash -c script`, killed after `timeoutMs`; never throws on a non-zero exit. `cwd` is
 * entered by the script itself: Bun.spawn checks a cwd from this process, synchronously.
 */
export async function sh(script: string, options: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; prefix?: string[] } = {}): Promise<RunResult> {
  const body = options.cwd === undefined ? script : `cd ${shellQuote(options.cwd)} && ${script}`;
  const proc = Bun.spawn([...(options.prefix ?? []), "bash", "-c", body], {
    cwd: tmpdir(),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, LC_ALL: "C", ...options.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Like sh, but fails with the output when the script exits non-zero. */
export async function run(script: string, options: { cwd?: string; timeoutMs?: number; prefix?: string[] } = {}): Promise<string> {
  const result = await sh(script, options);
  if (result.code !== 0) throw new Error(`'${script}' exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

export interface MountProcess {
  mountpoint: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Output of the mount process so far (for failure messages). */
  output(): string;
  /** SIGTERM and wait; then make sure nothing is left mounted. */
  stop(): Promise<number>;
}

/** `prefix` runs the server through another command (setpriv, to serve as another user). */
export async function startMount(
  metad: MetadHarness,
  extraArgs: string[] = [],
  options: { mountpoint?: string; prefix?: string[]; env?: Record<string, string> } = {},
): Promise<MountProcess> {
  const mountpoint = options.mountpoint ?? mkdtempSync(join(tmpdir(), "nokv-mnt-"));
  const command = [...(options.prefix ?? []), BUN, MOUNT_MAIN, "mount", mountpoint, "--server", metad.url, ...extraArgs];
  const proc = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...options.env } });
  let log = "";
  const ready = new Promise<void>((resolveReady, reject) => {
    const decoder = new TextDecoder();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        log += decoder.decode(chunk);
        if (log.includes("nokv-fs: serving")) resolveReady();
      }
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
    void proc.exited.then((code) => reject(new Error(`mount process exited ${code} before serving:\n${log}`)));
    setTimeout(() => reject(new Error(`mount not ready after ${MOUNT_READY_TIMEOUT_MS} ms:\n${log}`)), MOUNT_READY_TIMEOUT_MS);
  });
  const mount: MountProcess = {
    mountpoint,
    proc,
    output: () => log,
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => null)]);
      if (exited === null) proc.kill("SIGKILL");
      const code = await proc.exited;
      if (isMounted(mountpoint)) await runUmount(mountpoint);
      if (!isMounted(mountpoint)) rmSync(mountpoint, { recursive: true, force: true });
      return code;
    },
  };
  try {
    await ready;
  } catch (err) {
    await mount.stop();
    throw err;
  }
  return mount;
}
