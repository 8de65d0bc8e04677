import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { ok, runCli, spawnCli } from "./cli-harness.ts";

let h: MetadHarness;
let s: string[];
beforeAll(async () => {
  h = await startMetad();
  s = ["--server", h.url];
});
afterAll(() => h.stop());

/** Reads a stream until `pattern` appears in it (or the stream ends). */
async function readUntil(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!pattern.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

describe("nokv-fs snapshot, watch, mounts, stats, gc, doctor", () => {
  test("snapshot create, list, retire; --json forms parse", async () => {
    await ok(["mkdir", "-p", "/snap/data", ...s]);
    const id = Number((await ok(["snapshot", "create", "/snap", ...s])).trim());
    expect(id).toBeGreaterThan(0);
    const created = JSON.parse(await ok(["snapshot", "create", "--json", ...s])) as { snapshotId: number; path: string };
    expect(created.path).toBe("/");
    const list = JSON.parse(await ok(["snapshot", "list", "--json", ...s])) as Array<{ snapshotId: number }>;
    expect(list.map((x) => x.snapshotId)).toEqual([id, created.snapshotId]);
    expect(await ok(["snapshot", "list", ...s])).toMatch(new RegExp(`^ID +ROOT-INODE +READ-VERSION +PATH\\n +${id} .* /snap\\n`));
    // The snapshot of /snap keeps the live paths: /snap lists, / is outside it.
    expect(await ok(["ls", "/snap", "--snapshot", String(id), ...s])).toBe("data\n");
    expect((await runCli(["ls", "/", "--snapshot", String(id), ...s])).code).toBe(1);
    expect(JSON.parse(await ok(["snapshot", "retire", String(id), String(created.snapshotId), "--json", ...s]))).toEqual({ retired: [id, created.snapshotId] });
    expect(await ok(["snapshot", "list", "--json", ...s])).toBe("[]\n");
    const r = await runCli(["snapshot", "retire", String(id), ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ENOENT");
  });

  test("watch streams events as they commit, prints resumable cursors, --cursor resumes", async () => {
    const c = await h.client();
    await c.mkdir("/watched");
    const proc = spawnCli(["watch", "/watched", "--count", "3", ...s]);
    expect(await readUntil(proc.stderr, /watching \/watched from cursor/)).toContain("watching");
    await c.mkdir("/watched/a");
    await c.rename("/watched/a", "/watched/b");
    await c.writeFile("/watched/f.bin", "data");
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d+\.\d+ create a inode=\d+$/);
    expect(lines[1]).toMatch(/^\d+\.\d+ rename a -> b inode=\d+$/);
    expect(lines[2]).toMatch(/^\d+\.\d+ (create|publish) f\.bin inode=\d+/);
    // Resuming after the first event replays the second, as JSON lines with their cursor.
    const cursor = lines[0]!.split(" ")[0]!;
    const resumed = JSON.parse(await ok(["watch", "/watched", "--cursor", cursor, "--count", "1", "--json", ...s])) as { kind: string; name: string; cursor: string };
    expect(resumed).toMatchObject({ kind: "rename", name: "a", cursor: lines[1]!.split(" ")[0] });
  });

  test("mounts create and list; commands run in the new mount with --mount", async () => {
    expect(await ok(["mounts", "create", "agents", ...s])).toMatch(/created mount 'agents' \(id \d+\)/);
    const list = JSON.parse(await ok(["mounts", "list", "--json", ...s])) as Array<{ name: string }>;
    expect(list.map((m) => m.name)).toEqual(["default", "agents"]);
    await ok(["mkdir", "/only-in-agents", "--mount", "agents", ...s]);
    expect(await ok(["ls", "/", "--mount", "agents", ...s])).toBe("only-in-agents\n");
    const dup = await runCli(["mounts", "create", "agents", ...s]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("EEXIST");
  });

  test("log prints the applied commands from a position; --json entries carry the whole command", async () => {
    await ok(["mkdir", "-p", "/logged/a", ...s]);
    const lines = (await ok(["log", ...s])).trim().split("\n");
    expect(lines[0]).toMatch(/^ *1 init_shard +1 mutations, 0 events$/);
    expect(lines.some((l) => / create_dir +\d+ mutations, 1 events/.test(l))).toBe(true);
    const entries = (await ok(["log", "--json", "--from", "2", "--limit", "3", ...s])).trim().split("\n").map((l) => JSON.parse(l));
    expect(entries.map((e: { version: number }) => e.version)).toEqual([2, 3, 4]);
    expect(entries[0].command).toHaveProperty("mutations");
    const catalog = (await ok(["log", "--catalog", ...s])).trim().split("\n");
    expect(catalog[0]).toMatch(/^ *1 create_mount /);
    expect((await runCli(["log", "--from", "x", ...s])).code).toBe(2);
  });

  test("stats summarizes; stats --json and gc --json parse", async () => {
    const text = await ok(["stats", ...s]);
    expect(text).toMatch(/^uptime .*, \d+ shards \(catalog at \d+, mount 1 at \d+.*\), objects file:\/\//);
    expect(text).toContain("metadata writes: current puts");
    expect(text).toMatch(/\nOP +COUNT +ERRORS +P50-US +P99-US\n/);
    const json = JSON.parse(await ok(["stats", "--json", ...s])) as { ops: Record<string, unknown>; writes: { commits: number } };
    expect(json.writes.commits).toBeGreaterThan(0);
    expect(Object.keys(json.ops)).toContain("hello");
    expect(await ok(["gc", ...s])).toMatch(/^objectsDeleted +\d+$/m);
    expect(JSON.parse(await ok(["gc", "--json", ...s]))).toHaveProperty("objectsDeleted");
  });

  test("doctor: ✓ lines against a live server; ✗ with a fix and exit 1 against a dead one", async () => {
    const good = await runCli(["doctor", "--no-fuse", ...s]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("✓ server healthz");
    expect(good.stdout).toContain("✓ server rpc");
    expect(good.stdout).toMatch(/✓ object store: file:\/\/.*put, get and delete of doctor\//);
    // With the FUSE checks, whose outcome depends on this machine: only the shape is checked.
    const json = JSON.parse((await runCli(["doctor", "--json", ...s])).stdout) as { checks: Array<{ name: string }> };
    expect(json.checks.map((c) => c.name)).toEqual(["server healthz", "server rpc", "object store", "fuse device", "mount permission"]);
    const bad = await runCli(["doctor", "--no-fuse", "--server", "nokv://127.0.0.1:1"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("✗ server healthz");
    expect(bad.stdout).toContain("fix: start metad");
    expect(bad.stdout).toContain("✗ object store: not checked");
  });
});

describe("nokv-fs metad, mount, umount, fsck", () => {
  test("metad serves until SIGTERM and stops cleanly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nokv-cli-metad-"));
    try {
      const proc = spawnCli(["metad", "--listen", "127.0.0.1:0", "--data", join(dir, "data"), "--objects", `file://${join(dir, "objects")}`]);
      const ready = await readUntil(proc.stdout, /metad ready on .*\n/);
      const port = /ready on 127\.0\.0\.1:(\d+)/.exec(ready)![1];
      expect(await ok(["mkdir", "/from-cli", "--server", `nokv://127.0.0.1:${port}`])).toBe("");
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("pass-through help and usage errors", async () => {
    const metad = await runCli(["metad", "--help"]);
    expect(metad.code).toBe(0);
    expect(metad.stdout).toContain("usage: metad");
    const mount = await runCli(["mount", "--help"]);
    expect(mount.code).toBe(0);
    expect(mount.stdout).toContain("usage: nokv-fs mount MOUNTPOINT");
    expect((await runCli(["mount"])).code).toBe(2);
    expect((await runCli(["umount"])).code).toBe(2);
    expect((await runCli(["metad", "--no-such-flag"])).code).toBe(2);
    const fsck = await runCli(["fsck", "--help"]);
    expect(fsck.code).toBe(0);
    expect(fsck.stdout).toContain("usage: nokv-fs fsck");
  });
});
