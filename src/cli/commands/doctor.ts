import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { openObjectStore } from "../../objstore/index.ts";
import { connect, parseServerUrl } from "../../sdk/index.ts";
import { withGlobalOptions, type GlobalOptions } from "../context.ts";
import { EXIT_FAILED, EXIT_OK } from "../errors.ts";
import type { Runner } from "../runner.ts";

// doctor: is this machine ready to use NoKV? Each check prints ✓ or ✗, and a failed one says
// what to do about it. Checks run in order; one that cannot run (no server, so no store URL) is
// reported as failed with the reason rather than skipped silently.

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** How long a check may wait on the network before it counts as failed. */
const DOCTOR_TIMEOUT_MS = 5_000;

async function checkServer(options: GlobalOptions): Promise<{ checks: Check[]; objectsUrl: string | null }> {
  const fixServer = `start metad (\`nokv-fs metad\` or \`npm run metad\`) or point --server / NOKV_SERVER at it`;
  let http: string;
  try {
    const { host, port, tls } = parseServerUrl(options.server);
    http = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
  } catch (err) {
    return { checks: [{ name: "server", ok: false, detail: (err as Error).message, fix: "use --server nokv://HOST:PORT" }], objectsUrl: null };
  }
  const checks: Check[] = [];
  try {
    const ca = options.ca === undefined ? undefined : readFileSync(options.ca, "utf8");
    const response = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(DOCTOR_TIMEOUT_MS), ...(ca === undefined ? {} : { tls: { ca } }) });
    const body = (await response.json()) as { ok?: boolean; shards?: Array<{ shard: number; version: number }> };
    checks.push({ name: "server healthz", ok: response.ok && body.ok === true, detail: `${http}/healthz: HTTP ${response.status}, ${body.shards?.length ?? "?"} shards`, fix: fixServer });
  } catch (err) {
    checks.push({ name: "server healthz", ok: false, detail: `${http}/healthz: ${(err as Error).message}`, fix: fixServer });
    return { checks, objectsUrl: null };
  }
  try {
    const ca = options.ca === undefined ? undefined : readFileSync(options.ca);
    const client = await connect(options.server, { mount: options.mount, requestTimeoutMs: DOCTOR_TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) });
    const objectsUrl = client.objectsUrl;
    await client.close();
    checks.push({ name: "server rpc", ok: true, detail: `${options.server}, mount '${options.mount}', objects ${objectsUrl}` });
    return { checks, objectsUrl };
  } catch (err) {
    const fix = (err as { code?: string }).code === "ENOENT" ? `create the mount: nokv-fs mounts create ${options.mount}` : fixServer;
    checks.push({ name: "server rpc", ok: false, detail: `${options.server}: ${(err as Error).message}`, fix });
    return { checks, objectsUrl: null };
  }
}

/** Writes, reads back and deletes one probe object under doctor/: what a client's data path does. */
export async function checkObjectStore(objectsUrl: string | null): Promise<Check> {
  const name = "object store";
  if (objectsUrl === null) return { name, ok: false, detail: "not checked: no store URL without a reachable server", fix: "fix the server check first" };
  const fix = objectsUrl.startsWith("s3://")
    ? "check the bucket exists, the endpoint is reachable from this machine, and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set"
    : "the directory must exist on this machine and be writable (clients read and write it directly)";
  const key = `doctor/${process.pid}-${randomBytes(6).toString("hex")}`;
  const probe = randomBytes(64);
  try {
    const store = await openObjectStore(objectsUrl);
    try {
      await store.put(key, probe);
      const back = await store.get(key);
      if (Buffer.compare(Buffer.from(back), probe) !== 0) return { name, ok: false, detail: `${objectsUrl}: read back different bytes`, fix };
      await store.delete(key);
      if ((await store.head(key)) !== null) return { name, ok: false, detail: `${objectsUrl}: probe object still there after delete`, fix };
    } finally {
      await store.close();
    }
    return { name, ok: true, detail: `${objectsUrl}: put, get and delete of ${key}` };
  } catch (err) {
    return { name, ok: false, detail: `${objectsUrl}: ${(err as Error).message}`, fix };
  }
}

function onPath(program: string, env: Record<string, string | undefined>): string | null {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export function checkFuse(env: Record<string, string | undefined> = process.env): Check[] {
  const device = "/dev/fuse";
  const checks: Check[] = [];
  if (!existsSync(device)) {
    checks.push({ name: "fuse device", ok: false, detail: `${device} is missing`, fix: "load the module (modprobe fuse); in a container run with --device /dev/fuse --cap-add SYS_ADMIN" });
  } else {
    checks.push({ name: "fuse device", ok: true, detail: `${device} present` });
  }
  const root = process.getuid?.() === 0;
  const fusermount = onPath("fusermount3", env);
  checks.push(
    root
      ? { name: "mount permission", ok: true, detail: "running as root: mount(2) directly" }
      : fusermount
        ? { name: "mount permission", ok: true, detail: `not root; ${fusermount} mounts for this user` }
        : { name: "mount permission", ok: false, detail: "not root and no fusermount3 on PATH", fix: "install fuse3 (apt-get install fuse3) or run nokv-fs mount as root" },
  );
  return checks;
}

export function registerDoctor(program: Command, run: Runner): void {
  withGlobalOptions(program.command("doctor"))
    .description("check the server, the object store and FUSE prerequisites")
    .option("--no-fuse", "skip the FUSE checks (for machines that only use the SDK or CLI)")
    .addHelpText("after", "\nExits 1 if any check fails.\n\nExamples:\n  nokv-fs doctor\n  nokv-fs doctor --server nokv://meta.internal:7777 --no-fuse --json")
    .action(
      run.action<{ fuse: boolean }, []>(async (ctx, opts) => {
        const server = await checkServer(ctx.options);
        const checks = [...server.checks, await checkObjectStore(server.objectsUrl), ...(opts.fuse ? checkFuse() : [])];
        const ok = checks.every((c) => c.ok);
        if (ctx.json) ctx.printJson({ ok, checks });
        else {
          const lines: string[] = [];
          for (const c of checks) {
            lines.push(`${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`);
            if (!c.ok && c.fix) lines.push(`    fix: ${c.fix}`);
          }
          ctx.printLines(lines);
        }
        return ok ? EXIT_OK : EXIT_FAILED;
      }),
    );
}
