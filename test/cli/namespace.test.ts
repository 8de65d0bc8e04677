import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startMetad, type MetadHarness } from "../harness.ts";
import { ok, runCli } from "./cli-harness.ts";

let h: MetadHarness;
let s: string[];
beforeAll(async () => {
  h = await startMetad();
  s = ["--server", h.url];
});
afterAll(() => h.stop());

describe("nokv-fs namespace commands", () => {
  test("mkdir -p, ls, ls -l, ls -R, ls --json", async () => {
    await ok(["mkdir", "-p", "/ns/a/b", "/ns/c", ...s]);
    expect(await ok(["ls", "/ns", ...s])).toBe("a\nc\n");
    const long = (await ok(["ls", "-l", "/ns", ...s])).trim().split("\n");
    expect(long).toHaveLength(2);
    expect(long[0]).toMatch(/^drwxr-xr-x +\d+ +0 +0 +0 \d{4}-\d\d-\d\d \d\d:\d\d a$/);
    expect(await ok(["ls", "-R", "/ns", ...s])).toBe("/ns:\na\nc\n\n/ns/a:\nb\n\n/ns/a/b:\n\n/ns/c:\n");
    const json = JSON.parse(await ok(["ls", "/ns", "--json", ...s])) as Array<{ name: string; type: string; path: string }>;
    expect(json.map((e) => [e.name, e.type, e.path])).toEqual([["a", "dir", "/ns/a"], ["c", "dir", "/ns/c"]]);
    // Global options also work before the subcommand, and from the environment.
    expect(await ok(["--server", h.url, "--json", "ls", "/ns"])).toStartWith("[");
    expect(await ok(["ls", "/ns"], { env: { NOKV_SERVER: h.url } })).toBe("a\nc\n");
  });

  test("stat, stat -L, ln -s, ln, cat, mv, tree", async () => {
    const c = await h.client();
    await c.mkdir("/st", { recursive: true });
    await c.writeFile("/st/f.txt", "hello, nokv\n");
    await ok(["ln", "-s", "f.txt", "/st/link", ...s]);
    await ok(["ln", "/st/f.txt", "/st/hard", ...s]);
    expect((await c.stat("/st/hard")).nlink).toBe(2);
    const stat = await ok(["stat", "/st/link", ...s]);
    expect(stat).toContain("Path: /st/link -> f.txt");
    expect(stat).toContain("Type: symlink");
    const followed = JSON.parse(await ok(["stat", "-L", "/st/link", "--json", ...s])) as { type: string; sizeBytes: number; mode: string };
    expect(followed).toMatchObject({ type: "file", sizeBytes: 12, mode: "0644" });
    expect(await ok(["cat", "/st/f.txt", "/st/link", ...s])).toBe("hello, nokv\nhello, nokv\n");
    await ok(["mkdir", "/st/sub", ...s]);
    await ok(["mv", "/st/hard", "/st/sub", ...s]);
    await ok(["mv", "/st/sub/hard", "/st/sub/renamed", ...s]);
    expect(await c.readdir("/st/sub")).toEqual(["renamed"]);
    expect(await ok(["tree", "/st", ...s])).toBe("/st\n├── f.txt\n├── link -> f.txt\n└── sub/\n    └── renamed\n\n1 directory, 3 files\n");
    const tree = JSON.parse(await ok(["tree", "/st", "--json", "-L", "1", ...s])) as { name: string; children: Array<{ name: string; children?: unknown }> };
    expect(tree.name).toBe("/st");
    expect(tree.children.map((n) => n.name)).toEqual(["f.txt", "link", "sub"]);
    expect(tree.children[2]!.children).toBeUndefined();
  });

  test("rm, rm -r, rm -f, and --json acknowledgements", async () => {
    await ok(["mkdir", "-p", "/rm/d/e", ...s]);
    const c = await h.client();
    await c.writeFile("/rm/d/e/x", "x");
    await c.writeFile("/rm/file", "y");
    expect(JSON.parse(await ok(["rm", "/rm/file", "--json", ...s]))).toEqual({ removed: ["/rm/file"] });
    await ok(["rm", "-f", "/rm/not-there", ...s]);
    await ok(["rm", "-r", "/rm/d", ...s]);
    expect(await c.readdir("/rm")).toEqual([]);
  });

  test("failures exit 1 with `nokv-fs: CMD PATH: CODE: message`", async () => {
    await ok(["mkdir", "-p", "/err/full/child", ...s]);
    let r = await runCli(["ls", "/err/missing", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("nokv-fs: ls /err/missing: ENOENT: no such file or directory");
    r = await runCli(["rm", "/err/full", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("nokv-fs: rm /err/full: EISDIR: is a directory");
    r = await runCli(["mkdir", "/err/full", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("nokv-fs: mkdir /err/full: EEXIST: file already exists");
    const c = await h.client();
    await c.writeFile("/err/a", "a");
    await c.writeFile("/err/b", "b");
    r = await runCli(["mv", "-n", "/err/a", "/err/b", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("nokv-fs: mv /err/a: EEXIST: file already exists");
    r = await runCli(["cat", "/err/full", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("EISDIR");
    r = await runCli(["ls", "/", "--mount", "no-such-mount", ...s]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no mount named 'no-such-mount'");
    expect(r.stdout).toBe("");
  });

  test("usage errors exit 2 and name the problem", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["ls", "--bogus"], /unknown option '--bogus'/],
      [["mv", "/only-one"], /missing required argument 'destination'/],
      [["stat"], /missing required argument 'paths'/],
      [["tree", "/", "-L", "zero"], /--level must be a whole number/],
      [["ls", "/", "--snapshot", "x"], /'x' is not a snapshot id/],
      [["ls", "/", "--server", "http://nope"], /--server 'http:\/\/nope' is not nokv:\/\/HOST\[:PORT\]/],
      [[], /Usage: nokv-fs/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  });

  test("--help for the program and every command exits 0 and shows examples", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const cmd of ["ls", "stat", "mkdir", "rm", "mv", "ln", "cat", "tree", "put", "get", "snapshot", "watch", "mounts", "stats", "gc", "doctor"]) {
      expect(top.stdout).toContain(`  ${cmd} `);
      const r = await runCli([cmd, "--help"]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 0 });
      expect(r.stdout).toContain("Examples:");
      expect(r.stdout).toContain(`nokv-fs ${cmd}`);
    }
  });
});
