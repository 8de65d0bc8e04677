import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";

// What a user of the published package gets: `npm pack` (prepack builds dist/), installed into a
// fresh folder with npm, then the SDK and `npx nokv-fs` under plain Node with no Bun anywhere on
// PATH. Also: the tarball carries no tests, the lock file survives `npm install` unchanged, the
// SDK's types check under Node's types alone, and stopping `npx nokv-fs metad` stops metad.

const REPO_ROOT = join(import.meta.dir, "..", "..");
const node = Bun.which("node");
const npm = Bun.which("npm");
const npx = Bun.which("npx");
const sh = Bun.which("sh");
const missing = [!node && "node", !npm && "npm", !npx && "npx", !sh && "sh"].filter(Boolean);
if (missing.length > 0) console.log(`packaging tests skipped: ${missing.join(", ")} not on PATH`);

let work = "";
let app = "";
let tarball = "";
/** A PATH with only node, npm, npx and sh: no Bun can be found through it. */
let bareBin = "";
let h: MetadHarness;

/** Runs a command to its end; asynchronously, so the metad in this process keeps serving it. */
async function run(cmd: string[], options: { cwd: string; env?: Record<string, string> }) {
  const proc = Bun.spawn(cmd, { cwd: options.cwd, env: options.env ?? (process.env as Record<string, string>), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: bareBin, HOME: process.env.HOME ?? work, npm_config_update_notifier: "false", NOKV_SERVER: h.url, ...extra };
}

describe.skipIf(missing.length > 0)("the npm package", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "nokv-pack-"));
    const packed = await run([npm!, "pack", "--pack-destination", work, "--silent"], { cwd: REPO_ROOT });
    expect(packed.code).toBe(0);
    tarball = join(work, packed.stdout.trim().split("\n").pop()!);
    expect(existsSync(tarball)).toBe(true);
    app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }));
    const installed = await run([npm!, "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: app });
    expect(installed.stderr).not.toContain("npm error");
    expect(installed.code).toBe(0);
    bareBin = join(work, "bin");
    mkdirSync(bareBin);
    for (const [name, target] of [["node", node], ["npm", npm], ["npx", npx], ["sh", sh]] as const) symlinkSync(target!, join(bareBin, name));
    h = await startMetad();
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("the tarball has the build, the LICENSE and the launcher, and no test files", async () => {
    const files = (await run(["tar", "-tzf", tarball], { cwd: work })).stdout.split("\n").filter(Boolean);
    for (const f of ["package/LICENSE", "package/bin/nokv-fs.mjs", "package/dist/sdk/index.js", "package/dist/cli/main.js", "package/dist/types/sdk/index.d.ts"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /\.test\.ts$|\/testing(\/|\.ts$)|conformance\.ts$|fault-store/.test(f))).toEqual([]);
    expect(readFileSync(join(REPO_ROOT, "LICENSE"), "utf8")).toContain("Apache License");
  });

  test("a plain install pulls neither Bun nor the AWS SDK, and brings Node's types", async () => {
    const modules = join(app, "node_modules");
    expect(existsSync(join(modules, "bun"))).toBe(false);
    expect(existsSync(join(modules, "@aws-sdk"))).toBe(false);
    expect(existsSync(join(modules, "@types", "node"))).toBe(true);
    expect((await run([join(bareBin, "sh"), "-c", "command -v bun || echo none"], { cwd: app, env: bareEnv() })).stdout.trim()).toBe("none");
  });

  test("the SDK works under plain Node: files, errors, watch with a signal", async () => {
    writeFileSync(
      join(app, "check.mjs"),
      `import { connect } from "nokv/sdk";
const fs = await connect(process.env.NOKV_SERVER);
await fs.mkdir("/pkg", { recursive: true });
const controller = new AbortController();
const watcher = fs.watch("/pkg", { signal: controller.signal });
await watcher.ready;
await fs.writeFile("/pkg/hello.txt", "hello from node");
const events = [];
try {
  for await (const e of watcher) { events.push(e.kind + ":" + e.name + ":" + e.cursor); controller.abort(); }
} catch (err) { events.push(err.name); }
const text = (await fs.readFile("/pkg/hello.txt")).toString();
const err = await fs.stat("/pkg/nope").catch((e) => e);
console.log(JSON.stringify({ text, events, code: err.code, errno: err.errno, message: err.message, bun: typeof Bun }));
await fs.close();
`,
    );
    const out = await run([join(bareBin, "node"), "check.mjs"], { cwd: app, env: bareEnv() });
    expect(out.stderr).toBe("");
    const result = JSON.parse(out.stdout);
    expect(result.text).toBe("hello from node");
    expect(result.bun).toBe("undefined");
    expect(result.events).toHaveLength(2);
    expect(result.events[0]).toMatch(/^publish:hello\.txt:\d+\.\d+$/);
    expect(result.events[1]).toBe("AbortError");
    expect(result).toMatchObject({ code: "ENOENT", errno: -2, message: "ENOENT: no such file or directory, stat '/pkg/nope'" });
  });

  test("the SDK's types check under Node's types alone", async () => {
    writeFileSync(
      join(app, "consumer.ts"),
      `import { connect, FsError, type CursorWatchEvent } from "nokv/sdk";
const fs = await connect("nokv://127.0.0.1:7777");
for await (const e of fs.watch("/a", { signal: AbortSignal.timeout(10) })) {
  const event: CursorWatchEvent = e;
  console.log(event.cursor, event.kind);
}
const data: Buffer = await fs.readFile("/a/x");
console.log(data.length, FsError);
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, types: ["node"], skipLibCheck: false }, files: ["consumer.ts"] }),
    );
    const tsc = await run([node!, join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], { cwd: app });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  });

  test("npx nokv-fs runs the client commands under plain Node", async () => {
    const env = bareEnv();
    const npxRun = (...args: string[]) => run([join(bareBin, "npx"), "nokv-fs", ...args], { cwd: app, env });
    expect((await npxRun("mkdir", "-p", "/npx/dir")).code).toBe(0);
    writeFileSync(join(work, "local.txt"), "bytes from disk");
    const put = await npxRun("put", join(work, "local.txt"), "/npx/dir/");
    expect(put.stderr).toBe("");
    expect(put.stdout).toStartWith("put 1 file, 0 directories, 0 symlinks");
    expect((await npxRun("cat", "/npx/dir/local.txt")).stdout).toBe("bytes from disk");
    expect((await npxRun("ls", "/npx/dir")).stdout).toBe("local.txt\n");
    const missingPath = await npxRun("ls", "/npx/none");
    expect(missingPath.code).toBe(1);
    expect(missingPath.stderr).toStartWith("nokv-fs: ls /npx/none: ENOENT");
  });

  test("what needs Bun says so, and names the way to get it", async () => {
    const out = await run([join(bareBin, "npx"), "nokv-fs", "metad", "--listen", "127.0.0.1:0"], { cwd: app, env: bareEnv() });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("nokv-fs metad: needs Bun");
    expect(out.stderr).toContain("npm install bun");
    const help = await run([join(bareBin, "npx"), "nokv-fs", "--help"], { cwd: app, env: bareEnv() });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/metad \[args\.\.\.\] +run the metadata server; needs Bun/);
  });

  test("SIGTERM to `npx nokv-fs metad` stops metad cleanly", async () => {
    const data = join(work, "metad-data");
    const proc = Bun.spawn([join(bareBin, "npx"), "nokv-fs", "metad", "--listen", "127.0.0.1:0", "--data", data, "--objects", `file://${join(data, "objects")}`], {
      cwd: app,
      env: bareEnv({ NOKV_BUN: process.execPath }),
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes("metad ready")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      out += new TextDecoder().decode(chunk.value);
    }
    expect(out).toContain("metad ready");
    const port = Number(/on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    proc.kill("SIGTERM");
    await proc.exited;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      out += new TextDecoder().decode(chunk.value);
    }
    // metad itself got the signal: it shut down cleanly and its port is free again.
    const deadlineMs = Date.now() + 10_000;
    let refused = false;
    while (!refused && Date.now() < deadlineMs) {
      refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => false, () => true);
      if (!refused) await Bun.sleep(100);
    }
    expect(refused).toBe(true);
    expect(existsSync(join(data, "meta.db"))).toBe(true);
  }, 60_000);
});

describe.skipIf(missing.length > 0)("package-lock.json", () => {
  test("npm install leaves the committed lock file byte for byte", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nokv-lock-"));
    try {
      for (const f of ["package.json", "package-lock.json", ".npmrc"]) copyFileSync(join(REPO_ROOT, f), join(dir, f));
      const out = await run([npm!, "install", "--package-lock-only", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir });
      expect(out.code).toBe(0);
      expect(readFileSync(join(dir, "package-lock.json"), "utf8")).toBe(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
