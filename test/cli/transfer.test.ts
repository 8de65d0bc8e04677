import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { ok, runCli } from "./cli-harness.ts";

let h: MetadHarness;
let s: string[];
let work: string;
beforeAll(async () => {
  h = await startMetad();
  s = ["--server", h.url];
  work = mkdtempSync(join(tmpdir(), "nokv-cli-"));
});
afterAll(async () => {
  await h.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Every entry under `root` as [relative path, kind, bytes or link target, mode], sorted. */
function snapshotTree(root: string): Array<[string, string, string, number]> {
  const out: Array<[string, string, string, number]> = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const full = join(root, childRel);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        out.push([childRel, "dir", "", 0]);
        walk(childRel);
      } else if (st.isSymbolicLink()) out.push([childRel, "symlink", readlinkSync(full), 0]);
      else out.push([childRel, "file", readFileSync(full).toString("base64"), st.mode & 0o777]);
    }
  };
  walk("");
  return out;
}

function makeTree(root: string): void {
  mkdirSync(join(root, "nested", "deeper", "deepest"), { recursive: true });
  mkdirSync(join(root, "empty-dir"));
  // Over one 4 MiB block, so a file spans blocks; an odd size, so the last block is partial.
  writeFileSync(join(root, "big.bin"), randomBytes(9 * 1024 * 1024 + 17));
  writeFileSync(join(root, "empty.txt"), "");
  writeFileSync(join(root, "script.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  for (let i = 0; i < 40; i++) writeFileSync(join(root, "nested", `sample-${String(i).padStart(3, "0")}.bin`), randomBytes(1 + i * 97));
  writeFileSync(join(root, "nested", "deeper", "deepest", "leaf.json"), JSON.stringify({ ok: true }));
  symlinkSync("../big.bin", join(root, "nested", "link-to-big"));
}

describe("nokv-fs put / get", () => {
  test("a directory tree round-trips byte for byte (files, empty files, modes, empty dirs, symlinks)", async () => {
    const src = join(work, "src");
    makeTree(src);
    const put = await runCli(["put", src, "/datasets/t1", "-j", "4", ...s]);
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/^put 44 files, 5 directories, 1 symlink, 9\.\d+ MiB in /);
    const c = await h.client();
    expect((await c.readFile("/datasets/t1/big.bin")).equals(readFileSync(join(src, "big.bin")))).toBe(true);
    expect(await c.readlink("/datasets/t1/nested/link-to-big")).toBe("../big.bin");
    const out = join(work, "out");
    const get = await runCli(["get", "/datasets/t1", out, ...s]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^got 44 files, 5 directories, 1 symlink/);
    expect(snapshotTree(out)).toEqual(snapshotTree(src));
    // No temporary download names are left behind.
    expect(snapshotTree(out).some(([rel]) => rel.includes(".nokv-"))).toBe(false);
  });

  test("no progress bar when piped; --progress forces it; --json summary parses", async () => {
    const file = join(work, "one.bin");
    writeFileSync(file, randomBytes(5 * 1024 * 1024));
    const quiet = await runCli(["put", file, "/p1.bin", ...s]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    const forced = await runCli(["put", file, "/p2.bin", "--progress", ...s]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/put \[=+\] 100% \| 5\.00 MiB\/5\.00 MiB \| .*\/s \| ETA \d+s \| 1\/1 files/);
    const json = JSON.parse(await ok(["put", file, "/p3.bin", "--json", ...s])) as { files: number; bytes: number; to: string };
    expect(json).toMatchObject({ files: 1, bytes: 5 * 1024 * 1024, to: "/p3.bin" });
    const got = await runCli(["get", "/p3.bin", join(work, "p3.bin"), "--json", ...s]);
    expect(got.stderr).toBe("");
    expect(JSON.parse(got.stdout)).toMatchObject({ files: 1, from: "/p3.bin" });
    expect(readFileSync(join(work, "p3.bin")).equals(readFileSync(file))).toBe(true);
  });

  test("a single file into an existing directory keeps its name, both ways; put replaces", async () => {
    const file = join(work, "named.txt");
    writeFileSync(file, "first");
    await ok(["mkdir", "/inbox", ...s]);
    await ok(["put", file, "/inbox", ...s]);
    writeFileSync(file, "second");
    await ok(["put", file, "/inbox/", ...s]);
    expect(await ok(["cat", "/inbox/named.txt", ...s])).toBe("second");
    const dest = join(work, "dl");
    mkdirSync(dest);
    await ok(["get", "/inbox/named.txt", dest, ...s]);
    expect(readFileSync(join(dest, "named.txt"), "utf8")).toBe("second");
  });

  test("get --snapshot restores what a snapshot saw", async () => {
    const c = await h.client();
    await c.mkdir("/ws", { recursive: true });
    await c.writeFile("/ws/state.txt", "before");
    const id = (await ok(["snapshot", "create", "/ws", ...s])).trim();
    await c.writeFile("/ws/state.txt", "after");
    const dest = join(work, "restore");
    await ok(["get", "/ws", dest, "--snapshot", id, ...s]);
    expect(readFileSync(join(dest, "state.txt"), "utf8")).toBe("before");
  });

  test("failures: missing local source, missing remote source, bad concurrency", async () => {
    let r = await runCli(["put", join(work, "nope"), "/x", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ENOENT");
    r = await runCli(["get", "/nope", join(work, "x"), ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("nokv-fs: get /nope: ENOENT: no such file or directory");
    r = await runCli(["put", work, "/x", "-j", "0", ...s]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--concurrency must be 1..64");
  });
});
