import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, sh, startMount, type MountProcess } from "./fuse-harness.ts";

// The mount and the SDK see one namespace: bytes written on either side read back on the other,
// and a change made through the SDK shows up through the mount within a second, although the
// kernel was told it may cache names and attributes for much longer (watch-driven invalidation).

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE SDK interop tests: ${skip}`);

const SEEN_WITHIN_MS = 1_000;

describe.skipIf(skip !== null)("the mount and the SDK", () => {
  let metad: MetadHarness;
  let mount: MountProcess;
  let client: NoKVClient;
  let mnt: string;

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    mount = await startMount(metad);
    mnt = mount.mountpoint;
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  /** Polls `script` through the mount until its output satisfies `ok`; returns how long it took. */
  async function seenWithin(script: string, ok: (out: string) => boolean): Promise<number> {
    const started = performance.now();
    let out = "";
    while (performance.now() - started < 3 * SEEN_WITHIN_MS) {
      out = (await sh(script, { cwd: mnt })).stdout;
      if (ok(out)) return performance.now() - started;
      await Bun.sleep(10);
    }
    throw new Error(`'${script}' never showed the change; last output: ${JSON.stringify(out)}`);
  }

  test("a file written through the mount reads back through the SDK", async () => {
    await run("mkdir from-mount && printf 'written by cat\\n' > from-mount/a.txt && head -c 5000000 /dev/urandom > from-mount/b.bin", { cwd: mnt });
    expect(await client.readFile("/from-mount/a.txt", "utf8")).toBe("written by cat\n");
    const viaSdk = await client.readFile("/from-mount/b.bin");
    const viaMount = await run("sha256sum < from-mount/b.bin", { cwd: mnt });
    expect(`${new Bun.CryptoHasher("sha256").update(viaSdk).digest("hex")}  -\n`).toBe(viaMount);
  });

  test("a file written through the SDK reads back through the mount", async () => {
    await client.mkdir("/from-sdk");
    await client.writeFile("/from-sdk/hello.txt", "hello from the sdk\n");
    expect(await run("cat from-sdk/hello.txt", { cwd: mnt })).toBe("hello from the sdk\n");
  });

  test("SDK changes show up through the mount within a second, though the kernel caches for longer", async () => {
    await client.mkdir("/live");
    await client.writeFile("/live/f.txt", "old\n");
    await client.writeFile("/live/gone.txt", "x");
    // Warm the kernel's caches: names, attributes, pages, and a negative entry.
    expect(await run("cat live/f.txt && ls live && stat -c %a live/f.txt && (cat live/new.txt 2>/dev/null || echo absent)", { cwd: mnt })).toBe("old\nf.txt\ngone.txt\n644\nabsent\n");

    await client.writeFile("/live/f.txt", "new and longer\n");
    expect(await seenWithin("cat live/f.txt", (out) => out === "new and longer\n")).toBeLessThan(SEEN_WITHIN_MS);

    await client.writeFile("/live/new.txt", "appeared\n");
    expect(await seenWithin("cat live/new.txt", (out) => out === "appeared\n")).toBeLessThan(SEEN_WITHIN_MS);

    await client.chmod("/live/f.txt", 0o600);
    expect(await seenWithin("stat -c %a live/f.txt", (out) => out === "600\n")).toBeLessThan(SEEN_WITHIN_MS);

    await client.rename("/live/gone.txt", "/live/renamed.txt");
    expect(await seenWithin("ls live | tr '\\n' ' '", (out) => out === "f.txt new.txt renamed.txt ")).toBeLessThan(SEEN_WITHIN_MS);

    await client.unlink("/live/renamed.txt");
    expect(await seenWithin("ls live/renamed.txt 2>&1", (out) => out.includes("No such file"))).toBeLessThan(SEEN_WITHIN_MS);
  });

  test("a rename through the SDK of a directory the mount has cached", async () => {
    await client.mkdir("/dir-a");
    await client.writeFile("/dir-a/inside.txt", "in a\n");
    expect(await run("cat dir-a/inside.txt", { cwd: mnt })).toBe("in a\n");
    await client.rename("/dir-a", "/dir-b");
    expect(await seenWithin("cat dir-b/inside.txt 2>&1; ls -d dir-a 2>&1", (out) => out.startsWith("in a\n") && out.includes("No such file"))).toBeLessThan(SEEN_WITHIN_MS);
  });
});
