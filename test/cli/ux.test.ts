import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { runCli } from "./cli-harness.ts";

// What a user meets at the command line: --token as a flag (not only NOKV_TOKEN), --json errors
// as JSON, connection refused called that, counts that add up, and no temporary names or
// internal ids in messages.

const TOKEN = "ux-test-token-0123456789";
let h: MetadHarness;
let work: string;
beforeAll(async () => {
  h = await startMetad({ token: TOKEN });
  work = mkdtempSync(join(tmpdir(), "nokv-ux-"));
});
afterAll(async () => {
  await h.stop();
  rmSync(work, { recursive: true, force: true });
});

test("--token is a flag, listed in --help; without it a token-protected metad refuses", async () => {
  expect((await runCli(["--help"])).stdout).toContain("--token <secret>");
  expect((await runCli(["--help"])).stdout).toContain("NOKV_TOKEN");
  const ok = await runCli(["mkdir", "/tok", "--server", h.url, "--token", TOKEN]);
  expect(ok.stderr).toBe("");
  expect(ok.code).toBe(0);
  const before = await runCli(["--token", TOKEN, "--server", h.url, "ls", "/"]);
  expect(before.stdout).toBe("tok\n");
  const refused = await runCli(["ls", "/", "--server", h.url]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("EACCES");
});

test("with --json a failure is one JSON document on stderr", async () => {
  const out = await runCli(["--json", "ls", "/missing", "--server", h.url, "--token", TOKEN]);
  expect(out.code).toBe(1);
  expect(out.stdout).toBe("");
  const { error } = JSON.parse(out.stderr);
  expect(error).toMatchObject({ code: "ENOENT", message: "no such file or directory", command: "ls", path: "/missing", exit: 1 });
  expect(JSON.stringify(error)).not.toMatch(/directory \d/);
  const usage = await runCli(["ls", "--json", "--snapshot", "x", "/"]);
  expect(usage.code).toBe(2);
  expect(JSON.parse(usage.stderr).error).toMatchObject({ code: "EUSAGE", command: "ls", exit: 2 });
});

test("nothing listening is ECONNREFUSED, not a reset", async () => {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const out = await runCli(["ls", "/", "--server", `nokv://127.0.0.1:${port}`]);
  expect(out.code).toBe(1);
  expect(out.stderr).toStartWith("nokv-fs: ls: ECONNREFUSED: connection refused");
});

test("put counts the directory it creates and says 'symlink' for one", async () => {
  const src = join(work, "tree");
  mkdirSync(src);
  writeFileSync(join(src, "a.bin"), "a");
  Bun.spawnSync(["ln", "-s", "a.bin", join(src, "link")]);
  const out = await runCli(["put", src, "/counted", "--server", h.url, "--token", TOKEN]);
  expect(out.code).toBe(0);
  expect(out.stdout).toStartWith("put 1 file, 1 directory, 1 symlink, ");
});

test("a failed get names the file asked for, never its temporary name", async () => {
  const c = await h.client({ token: TOKEN } as never);
  await c.mkdir("/tok", { recursive: true });
  await c.writeFile("/tok/x.bin", "bytes");
  // The destination's parent is a file: writing the temporary file there fails.
  const blocker = join(work, "blocker");
  writeFileSync(blocker, "");
  const out = await runCli(["get", "/tok/x.bin", join(blocker, "x.bin"), "--server", h.url, "--token", TOKEN]);
  expect(out.code).toBe(1);
  expect(out.stderr).not.toContain(".nokv-");
  expect(out.stderr).toContain(join(blocker, "x.bin"));
});

test("watch prints one cursor form: VERSION.ORDINAL strings, 'now' at the version's end ordinal", async () => {
  const c = await h.client({ token: TOKEN } as never);
  await c.mkdir("/cur", { recursive: true });
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "src", "cli", "main.ts"), "watch", "/cur", "--count", "1", "--json", "--server", h.url, "--token", TOKEN], { stdout: "pipe", stderr: "pipe" });
  // The subscription is in place once the server counts it; then make the event.
  for (let i = 0; i < 200 && (h.metad.stats.watch.subscriptions as number) === 0; i++) await Bun.sleep(10);
  await c.createFile("/cur/a");
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  const line = JSON.parse(stdout.trim());
  expect(line.cursor).toMatch(/^\d+\.\d+$/);
  expect(line).toMatchObject({ kind: "create", name: "a" });
  expect(line.version).toBeUndefined();
  const text = await runCli(["watch", "/cur", "--count", "1", "--cursor", "1.0", "--server", h.url, "--token", TOKEN]);
  expect(text.stdout).toMatch(/^\d+\.\d+ create a inode=\d+\n$/);
  expect(text.stderr).toMatch(/^watching \/cur from cursor 1\.0\nresume with --cursor \d+\.\d+\n$/);
  const now = await c.watch("/cur").ready;
  expect(now.cursor).toMatch(/^\d+\.4294967295$/);
  await now.close();
});

test.skipIf(process.getuid?.() !== 0)("umount of a directory that is not mounted says so in words", async () => {
  const out = await runCli(["umount", work]);
  expect(out.code).toBe(1);
  expect(out.stderr).toContain("is not a mount point");
  expect(out.stderr).not.toMatch(/\(\d+\)/);
});
