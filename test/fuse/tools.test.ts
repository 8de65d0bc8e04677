import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, sh, startMount, type MountProcess } from "./fuse-harness.ts";

// Real programs through a real mount: what an agent's workspace does all day.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE tool tests: ${skip}`);

const SOURCE_TREE = resolve(import.meta.dir, "../../src/types");

describe.skipIf(skip !== null)("programs through the mount", () => {
  let metad: MetadHarness;
  let mount: MountProcess;
  let mnt: string;

  beforeAll(async () => {
    metad = await startMetad();
    mount = await startMount(metad);
    mnt = mount.mountpoint;
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  test("mkdir, ls, stat", async () => {
    await run("mkdir -p a/b/c && mkdir a/d && chmod 0750 a/d", { cwd: mnt });
    expect((await run("ls a", { cwd: mnt })).split("\n").filter(Boolean)).toEqual(["b", "d"]);
    expect(await run("stat -c '%F %a' a/b/c a/d", { cwd: mnt })).toBe("directory 755\ndirectory 750\n");
    const missing = await sh("stat a/nope", { cwd: mnt });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("No such file or directory");
    const exists = await sh("mkdir a/b", { cwd: mnt });
    expect(exists.stderr).toContain("File exists");
  });

  test("cp -r of a source tree reads back identical (diff -r)", async () => {
    await run(`cp -r ${SOURCE_TREE} copy && diff -r ${SOURCE_TREE} copy`, { cwd: mnt });
    expect(await run("ls copy | wc -l", { cwd: mnt })).toBe(`${(await run(`ls ${SOURCE_TREE} | wc -l`)).trim()}\n`);
  });

  test("tar create and extract", async () => {
    await run(`tar -C ${resolve(SOURCE_TREE, "..")} -cf src.tar types && mkdir unpacked && tar -C unpacked -xf src.tar && diff -r ${SOURCE_TREE} unpacked/types`, { cwd: mnt });
    await run("tar -cf again.tar unpacked && tar -tf again.tar | grep -q unpacked/types/limits.ts", { cwd: mnt });
  });

  test("git init, add, commit, log", async () => {
    if ((await sh("command -v git")).code !== 0) return console.log("git not installed: skipping the git steps");
    const git = "git -c user.email=t@example.com -c user.name=test -c init.defaultBranch=main";
    await run(`mkdir repo && cd repo && ${git} init -q && cp -r ${SOURCE_TREE} types && ${git} add . && ${git} commit -qm first`, { cwd: mnt });
    await run(`cd repo && echo change >> types/ids.ts && ${git} commit -qam second`, { cwd: mnt });
    expect(await run(`cd repo && ${git} log --format=%s`, { cwd: mnt })).toBe("second\nfirst\n");
    expect(await run(`cd repo && ${git} status --porcelain && ${git} fsck --no-progress 2>&1`, { cwd: mnt })).toBe("");
  });

  test("find and du see the whole tree", async () => {
    await run("mkdir -p f/x/y && echo 1 > f/one && echo 22 > f/x/two && ln -s ../one f/x/link", { cwd: mnt });
    expect((await run("find f | sort", { cwd: mnt })).split("\n").filter(Boolean)).toEqual(["f", "f/one", "f/x", "f/x/link", "f/x/two", "f/x/y"]);
    expect(await run("find f -type l", { cwd: mnt })).toBe("f/x/link\n");
    expect(await run("readlink f/x/link && cat f/x/link", { cwd: mnt })).toBe("../one\n1\n");
    expect(Number((await run("du -sb f", { cwd: mnt })).split("\t")[0])).toBeGreaterThan(0);
  });

  test("mv across directories, then rm -rf", async () => {
    await run("mkdir -p m1 m2 && echo moved > m1/file && mkdir m1/sub && echo deep > m1/sub/f", { cwd: mnt });
    await run("mv m1/file m2/renamed && mv m1/sub m2/", { cwd: mnt });
    expect(await run("cat m2/renamed m2/sub/f && ls m1 | wc -l", { cwd: mnt })).toBe("moved\ndeep\n0\n");
    await run("rm -rf m1 m2 copy", { cwd: mnt });
    expect((await sh("ls m1 m2 copy", { cwd: mnt })).code).not.toBe(0);
  });

  test("a file larger than one block, written with dd, checks out with sha256sum", async () => {
    const local = `${metad.dir}/random.bin`;
    await run(`dd if=/dev/urandom of=${local} bs=1M count=9 status=none`);
    await run(`dd if=${local} of=big.bin bs=1M status=none`, { cwd: mnt });
    const [want, got] = [await run(`sha256sum < ${local}`), await run("sha256sum < big.bin", { cwd: mnt })];
    expect(got).toBe(want);
    expect(await run("stat -c %s big.bin", { cwd: mnt })).toBe(`${9 * 1024 * 1024}\n`);
    // Overwrite the middle in place (no truncate): the rest of the file keeps its bytes.
    await run("printf XYZ | dd of=big.bin bs=1 seek=5000000 conv=notrunc status=none", { cwd: mnt });
    expect(await run("dd if=big.bin bs=1 skip=5000000 count=3 status=none", { cwd: mnt })).toBe("XYZ");
    expect(await run("stat -c %s big.bin", { cwd: mnt })).toBe(`${9 * 1024 * 1024}\n`);
  });

  test("sparse files: st_blocks and du count the bytes that exist, not the holes", async () => {
    // One byte at 10 MiB: one block of the mount holds it (a block 1 byte long), the rest is hole.
    await run("printf x | dd of=sparse bs=1 seek=10485760 status=none && truncate -s 1G empty-but-long", { cwd: mnt });
    expect(await run("stat -c '%s %b' sparse empty-but-long", { cwd: mnt })).toBe("10485761 1\n1073741824 0\n");
    expect(await run("du -k sparse empty-but-long", { cwd: mnt })).toBe("1\tsparse\n0\tempty-but-long\n");
    // A dense copy of the same bytes counts every block.
    await run("cp --sparse=never sparse dense", { cwd: mnt });
    expect(await run("stat -c %b dense", { cwd: mnt })).toBe(`${Math.ceil(10485761 / 512)}\n`);
    // While the writer still holds it open, its unpublished writes count as they will once published.
    if ((await sh("command -v python3")).code !== 0) return console.log("python3 not installed: skipping the open-file step");
    const open = await run(`python3 -c '
import os
fd = os.open("growing", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"a" * 4096, 0); os.ftruncate(fd, 1 << 30)
print(os.fstat(fd).st_size, os.fstat(fd).st_blocks); os.close(fd)
print(os.stat("growing").st_blocks)'`, { cwd: mnt });
    expect(open).toBe(`${1 << 30} 8\n8\n`);
  });

  test("hard links, chmod, truncate, touch -d, and append", async () => {
    await run("echo data > h && ln h h2 && chmod 600 h && truncate -s 2 h2 && echo more >> h && touch -d '2001-02-03 04:05:06' h", { cwd: mnt });
    expect(await run("stat -c '%h %a %s %Y' h h2", { cwd: mnt })).toBe("2 600 7 981173106\n2 600 7 981173106\n");
    expect(await run("cat h2", { cwd: mnt })).toBe("damore\n");
  });

  test("rename flags: mv --exchange and mv -n", async () => {
    await run("echo A > ra && echo B > rb", { cwd: mnt });
    const exchange = await sh("mv --exchange ra rb", { cwd: mnt });
    if (exchange.code === 0) expect(await run("cat ra rb", { cwd: mnt })).toBe("B\nA\n");
    else console.log(`mv --exchange unsupported by this coreutils: ${exchange.stderr.trim()}`);
    await run("mv -n ra rb", { cwd: mnt });
    expect(await run("ls ra rb | wc -l", { cwd: mnt })).toBe("2\n");
  });
});
