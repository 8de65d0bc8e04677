// The SDK under Node 20, imported exactly as a user would ("nokv/sdk" resolves to dist/).
// Named *.node-test.mjs so bun test leaves it to node --test.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "nokv/sdk";
import { startMetadProcess } from "./metad-process.mjs";

let metad;
let client;
before(async () => {
  metad = await startMetadProcess();
  client = await connect(metad.url, { mount: "default" });
});
after(async () => {
  await client.close();
  assert.equal(await metad.stop(), 0, "metad exits 0 on SIGTERM");
});

describe("nokv/sdk under Node", () => {
  test("runs on Node, not Bun", () => {
    assert.equal(typeof globalThis.Bun, "undefined");
  });

  test("path API round trip", async () => {
    await client.mkdir("/n/a", { recursive: true });
    await client.createFile("/n/a/f");
    await client.symlink("a", "/n/l");
    assert.deepEqual(await client.readdir("/n"), ["a", "l"]);
    const stats = await client.stat("/n/a/f");
    assert.equal(stats.isFile(), true);
    assert.equal(typeof stats.mtimeNs, "bigint");
    assert.equal(await client.readlink("/n/l"), "a");
    await client.rename("/n/a/f", "/n/g");
    await client.chmod("/n/g", 0o600);
    assert.equal((await client.stat("/n/g")).mode & 0o777, 0o600);
    await client.rm("/n", { recursive: true });
    assert.equal(await client.exists("/n"), false);
  });

  test("block checksums are computed and verified under Node (zlib.crc32): a flipped byte is EIO naming the object", async () => {
    const bytes = new Uint8Array(300 * 1024).map((_, i) => (i * 7) % 256);
    await client.writeFile("/sum.bin", bytes, { blockSizeBytes: 128 * 1024 });
    assert.deepEqual(new Uint8Array(await client.readFile("/sum.bin")), bytes);
    const key = readdirSync(metad.objectsDir, { recursive: true, withFileTypes: true })
      // Block 1 of chunk 0: the file "<generation>\0\1" in its inode's directory (src/objstore/file/layout.ts).
      .filter((e) => e.isFile() && e.name.endsWith("\\0\\1"))
      .map((e) => join(e.parentPath, e.name))[0];
    const stored = readFileSync(key);
    stored[5] ^= 0xff;
    writeFileSync(key, stored);
    const reader = await connect(metad.url, { cacheBytes: 0 });
    await assert.rejects(reader.readFile("/sum.bin"), (err) => err.code === "EIO" && /object "blocks\/.*\/0\/1" segment 0/.test(err.message));
    assert.equal(reader.integrityStats().checksumFailures, 1);
    await reader.close();
  });

  test("errors have node's shape", async () => {
    await assert.rejects(client.stat("/missing"), (err) => {
      assert.equal(err.code, "ENOENT");
      assert.equal(err.syscall, "stat");
      assert.equal(err.path, "/missing");
      assert.equal(err.message, "ENOENT: no such file or directory, stat '/missing'");
      return true;
    });
  });

  test("batch, snapshot and watch", async () => {
    await client.mkdir("/w");
    const dir = await client.stat("/w");
    const results = await client.batch([
      { op: "create", args: { parent: dir.ino, name: "x" } },
      { op: "create", args: { parent: dir.ino, name: "x" } },
    ]);
    assert.deepEqual(results.map((r) => r.ok), [true, false]);
    const snap = await client.snapshot("/w");
    await client.unlink("/w/x");
    assert.deepEqual(await snap.readdir("/w"), ["x"]);
    await snap.retire();
    const watcher = await client.watch("/w").ready;
    await client.createFile("/w/y");
    const { value } = await watcher.next();
    assert.equal(value.kind, "create");
    assert.equal(value.name, "y");
    await watcher.close();
  });

  test("node cache and metadata cache work under Node", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nokv-node-cache-"));
    try {
      await client.mkdir("/nc", { recursive: true });
      await client.writeFile("/nc/f", "cached bytes");
      const cached = await connect(metad.url, { mount: "default", cacheDir, cacheBytes: 0, metadataCache: true });
      assert.equal(await cached.readFile("/nc/f", "utf8"), "cached bytes");
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 3; i++) assert.equal(await cached.readFile("/nc/f", "utf8"), "cached bytes");
      const stats = cached.nodeCacheStats();
      assert.equal(stats.misses, 1);
      assert.equal(stats.hits, 3);
      await cached.close();
      assert.ok(readdirSync(join(cacheDir, "v1", "stats")).length === 1);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test("pipelined requests all resolve", async () => {
    const all = await Promise.all(Array.from({ length: 500 }, () => client.inode.getattr(1)));
    assert.equal(all.length, 500);
    assert.ok(all.every((a) => a.inode === 1));
  });
});
