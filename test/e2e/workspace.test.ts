import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { DiffEntry, NoKVClient, WatchEvent } from "../../src/sdk/index.ts";
import { ok, runCli } from "../cli/cli-harness.ts";
import { codeOf, startMetad, type MetadHarness } from "../harness.ts";

// Agent workspaces over real TCP and a real object store: clone, diff and rollback through the SDK
// and the CLI, and GC that keeps every block a clone or snapshot still names.

let h: MetadHarness;
let c: NoKVClient;
let s: string[];
beforeAll(async () => {
  h = await startMetad();
  c = await h.client();
  s = ["--server", h.url];
});
afterAll(() => h.stop());

/** Object files in the file:// store, by walking its directory. */
function objectCount(): number {
  let n = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else n++;
    }
  };
  try {
    walk(join(h.dir, "objects", "blocks"));
  } catch {
    return 0;
  }
  return n;
}

async function all(it: AsyncIterable<DiffEntry>): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe("workspaces through the SDK", () => {
  test("clone is independent on both sides and copies no object", async () => {
    await c.mkdir("/ws/src/sub", { recursive: true });
    await c.writeFile("/ws/src/a.txt", "alpha");
    await c.writeFile("/ws/src/sub/b.txt", "bravo");
    const objects = objectCount();
    const made = await c.clone("/ws/src", "/ws/dst");
    expect(made.entries).toBe(4);
    expect(objectCount()).toBe(objects);
    expect(await c.readFile("/ws/dst/sub/b.txt", "utf8")).toBe("bravo");
    await c.writeFile("/ws/dst/a.txt", "changed in the clone");
    await c.writeFile("/ws/src/sub/b.txt", "changed in the source");
    expect(await c.readFile("/ws/src/a.txt", "utf8")).toBe("alpha");
    expect(await c.readFile("/ws/dst/sub/b.txt", "utf8")).toBe("bravo");
    const diff = await all(c.diff("/ws/src", "/ws/dst", { pageEntries: 1 }));
    expect(diff.map((e) => [e.kind, e.path, e.changes])).toEqual([["changed", "a.txt", ["content"]], ["changed", "sub/b.txt", ["content"]]]);
    // A file clones too, and errors name the problem.
    await c.clone("/ws/src/a.txt", "/ws/a-copy.txt");
    expect(await c.readFile("/ws/a-copy.txt", "utf8")).toBe("alpha");
    expect(await codeOf(c.clone("/ws/src", "/ws/dst"))).toBe("EEXIST");
    expect(await codeOf(c.clone("/ws/src", "/ws/src/inner"))).toBe("EINVAL");
    expect(await codeOf(all(c.diff("/ws/src/a.txt", "/ws/dst")))).toBe("ENOTDIR");
  });

  test("rollback to a snapshot, with watch events, then GC frees exactly what nothing names", async () => {
    await c.mkdir("/rb/w", { recursive: true });
    await c.writeFile("/rb/w/keep.txt", "keep");
    await c.writeFile("/rb/w/edit.txt", "v1");
    const snap = await c.snapshot("/rb/w");
    await c.writeFile("/rb/w/edit.txt", "v2");
    await c.unlink("/rb/w/keep.txt");
    await c.writeFile("/rb/w/new.txt", "new");
    const since = await all(c.diff({ path: "/rb/w", snapshot: snap.id }, "/rb/w"));
    expect(since.map((e) => [e.kind, e.path])).toEqual([["changed", "edit.txt"], ["removed", "keep.txt"], ["added", "new.txt"]]);

    const watcher = await c.watch("/rb/w");
    const result = await c.rollback("/rb/w", snap);
    expect(result.changed).toBe(3);
    const events: WatchEvent[] = [];
    for await (const e of watcher) {
      events.push(e);
      if (events.length === 3) break;
    }
    await watcher.close();
    expect(events.map((e) => `${e.kind}:${e.name}`).sort()).toEqual(["create:keep.txt", "publish:edit.txt", "remove:new.txt"]);
    expect(await c.readFile("/rb/w/edit.txt", "utf8")).toBe("v1");
    expect(await c.readFile("/rb/w/keep.txt", "utf8")).toBe("keep");
    expect(await c.exists("/rb/w/new.txt")).toBe(false);
    expect(await all(c.diff({ path: "/rb/w", snapshot: snap.id }, "/rb/w"))).toEqual([]);

    // A clone of the snapshot, and a rename told apart from a remove plus an add.
    await c.unlink("/rb/w/keep.txt");
    // A snapshot reads at the live paths it was taken under.
    await c.clone("/rb/w/keep.txt", "/rb/restored.txt", { snapshot: snap.id });
    expect(await c.readFile("/rb/restored.txt", "utf8")).toBe("keep");
    await c.rename("/rb/w/edit.txt", "/rb/w/edited.txt");
    expect((await all(c.diff({ path: "/rb/w", snapshot: snap.id }, "/rb/w"))).map((e) => [e.kind, e.path, e.toPath])).toEqual([
      ["renamed", "edit.txt", "edited.txt"],
      ["removed", "keep.txt", undefined],
    ]);
    await c.rollback("/rb/w", snap.id);

    await snap.retire();
    await c.gc();
    expect(await c.readFile("/rb/w/edit.txt", "utf8")).toBe("v1");
    await c.rm("/rb", { recursive: true });
    await c.rm("/ws", { recursive: true });
    await c.gc();
    expect(objectCount()).toBe(0);
  });
});

describe("workspaces through the CLI", () => {
  test("cp --clone, diff (text and --json), rollback --snapshot", async () => {
    await c.mkdir("/cli/proj", { recursive: true });
    await c.writeFile("/cli/proj/main.py", "print(1)\n");
    await ok(["cp", "--clone", "/cli/proj", "/cli/try", ...s]);
    expect(await c.readFile("/cli/try/main.py", "utf8")).toBe("print(1)\n");
    await c.writeFile("/cli/try/main.py", "print(2)\n");
    await c.writeFile("/cli/try/extra.py", "x = 1\n");
    expect(await ok(["diff", "/cli/proj", "/cli/try", ...s])).toBe("A  extra.py\nM  main.py  (content)\n");
    const json = JSON.parse(await ok(["diff", "/cli/proj", "/cli/try", "--json", ...s])) as DiffEntry[];
    expect(json.map((e) => [e.kind, e.path])).toEqual([["added", "extra.py"], ["changed", "main.py"]]);
    expect(JSON.parse(await ok(["diff", "/cli/proj", "/cli/proj", "--json", ...s]))).toEqual([]);

    const id = (await ok(["snapshot", "create", "/cli/try", ...s])).trim();
    await c.unlink("/cli/try/extra.py");
    expect(await ok(["diff", "--snapshot", id, "/cli/try", "/cli/try", ...s])).toBe("D  extra.py\n");
    expect(await ok(["rollback", "/cli/try", "--snapshot", id, ...s])).toBe("1 entries changed\n");
    expect(await c.readFile("/cli/try/extra.py", "utf8")).toBe("x = 1\n");

    const usage = await runCli(["cp", "/cli/proj", "/cli/other", ...s]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--clone");
    const missing = await runCli(["rollback", "/cli/try", "--snapshot", "999", ...s]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("ENOENT");
  });
});
