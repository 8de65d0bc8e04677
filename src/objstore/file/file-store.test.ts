import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsError, LIMITS } from "../../types/index.ts";
import { patternBytes, runObjectStoreSuite } from "../conformance.ts";
import { TEMP_COMPONENT_PREFIX } from "../keys.ts";
import { FileObjectStore } from "./file-store.ts";

// bunfig.toml's [test] timeout is not read by bun 1.4.5 (5 s default); these tests fsync multi-MiB
// objects, so give a slow CI disk the room bunfig meant to.
setDefaultTimeout(30_000);

const tempDir = () => mkdtempSync(join(tmpdir(), "nokv-objstore-"));

function harness(durability: "normal" | "full") {
  return async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir: join(dir, "objects"), durability });
    return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
  };
}

runObjectStoreSuite("file (durability normal)", harness("normal"));
runObjectStoreSuite("file (durability full)", harness("full"));

/** Every file under dir, relative, including dot files. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

describe("file object store", () => {
  test("objects are plain files under DIR and no temp file survives a put", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir, durability: "full" });
    await Promise.all(Array.from({ length: 32 }, (_, i) => store.put(`blocks/1/2/0/${i % 2}/${i}`, patternBytes(4096, i + 1))));
    expect(allFiles(dir).length).toBe(32);
    expect(allFiles(dir).some((f) => f.includes(TEMP_COMPONENT_PREFIX))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  test("readInto a buffer shorter than the range is EINVAL naming the key; a bad range is EINVAL", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    await store.put("blocks/1/2/0/0/0", patternBytes(100, 1));
    const short = (await store.readInto("blocks/1/2/0/0/0", { offsetBytes: 0, lengthBytes: 50 }, new Uint8Array(49)).catch((e: FsError) => e)) as FsError;
    expect(short.code).toBe("EINVAL");
    expect(short.message).toContain("blocks/1/2/0/0/0");
    const bad = (await store.readInto("blocks/1/2/0/0/0", { offsetBytes: -1, lengthBytes: 5 }, new Uint8Array(5)).catch((e: FsError) => e)) as FsError;
    expect(bad.code).toBe("EINVAL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("a read of a window or more goes around the page cache and returns exactly the object's bytes", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    const MiB = 1024 * 1024;
    const sizes = [MiB, MiB + 1000, 3 * MiB + 5, 4 * MiB];
    for (const [i, size] of sizes.entries()) await store.put(`blocks/1/2/0/${i}`, patternBytes(size, i + 1));
    const buffer = new Uint8Array(4 * MiB + 8192);
    let directReads = 0;
    for (const [i, size] of sizes.entries()) {
      const want = patternBytes(size, i + 1);
      // Exact length (a partial last page), past the end (a short read), from an aligned offset,
      // from an unaligned one, and into a buffer off a page boundary: all the object's bytes.
      const reads: Array<[number, number, Uint8Array]> = [
        [0, size, buffer],
        [0, 4 * MiB, buffer],
        [4096, size - 4096, buffer],
        [1000, size - 1000, buffer],
        [0, size, buffer.subarray(1)],
      ];
      for (const [offsetBytes, lengthBytes, into] of reads) {
        if (lengthBytes >= LIMITS.fileDirectReadMinBytes && offsetBytes % 4096 === 0 && into.byteOffset % 4096 === 0) directReads++;
        into.fill(0xee);
        const doneBytes = await store.readInto(`blocks/1/2/0/${i}`, { offsetBytes, lengthBytes }, into);
        expect(doneBytes).toBe(Math.min(lengthBytes, size - offsetBytes));
        expect(Buffer.from(into.subarray(0, doneBytes)).equals(want.subarray(offsetBytes, offsetBytes + doneBytes))).toBe(true);
        // Nothing past the range is written (inside it, past the object's end, O_DIRECT may zero).
        expect(into[lengthBytes]).toBe(0xee);
      }
    }
    const { reads, unsupported } = store.directReads;
    if (unsupported) console.log(`skipped the O_DIRECT count: ${tmpdir()}'s filesystem refuses O_DIRECT (reads were buffered, and correct)`);
    // Every page-aligned read of a window or more, and only those, went around the page cache.
    else expect(reads).toBe(directReads);
    expect(directReads).toBe(10);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a temp file left by a crash never lists and never blocks a put", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    await store.put("a/b", patternBytes(10));
    writeFileSync(join(dir, "a", `${TEMP_COMPONENT_PREFIX}deadbeef`), "torn half-write");
    expect((await store.list("")).keys).toEqual(["a/b"]);
    expect((await store.list("a/", { after: "a/" })).keys).toEqual(["a/b"]);
    await store.put("a/c", patternBytes(5));
    expect((await store.list("a/")).keys).toEqual(["a/b", "a/c"]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("keys cannot reach outside DIR", async () => {
    const parent = tempDir();
    const dir = join(parent, "objects");
    const store = await FileObjectStore.open({ dir });
    writeFileSync(join(parent, "secret"), "outside");
    for (const key of ["../secret", "a/../../secret", "/etc/passwd", "..", "a/..\\..\\secret"]) {
      const err = await store.get(key).catch((e: unknown) => e);
      expect(err instanceof FsError && err.code).toBe("EINVAL");
      const putErr = await store.put(key, new Uint8Array([1])).catch((e: unknown) => e);
      expect(putErr instanceof FsError && putErr.code).toBe("EINVAL");
    }
    expect(readdirSync(parent).sort()).toEqual(["objects", "secret"]);
    expect(readdirSync(dir)).toEqual([]);
    rmSync(parent, { recursive: true, force: true });
  });

  test("delete prunes emptied directories but never DIR itself", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    await store.put("x/y/z/1", patternBytes(1));
    await store.put("x/w", patternBytes(1));
    await store.delete("x/y/z/1");
    expect(existsSync(join(dir, "x", "y"))).toBe(false);
    expect(existsSync(join(dir, "x", "w"))).toBe(true);
    await store.delete("x/w");
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("puts racing deletes in the same directory all land", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    for (let round = 0; round < 20; round++) {
      await store.put("r/d/old", patternBytes(8));
      await Promise.all([store.delete("r/d/old"), store.put(`r/d/new${round}`, patternBytes(8, round + 1))]);
      expect(await store.head(`r/d/new${round}`)).toEqual({ sizeBytes: 8 });
      await store.delete(`r/d/new${round}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("a key under an existing object is ENOTDIR, not a crash", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    await store.put("f", patternBytes(3));
    const err = await store.put("f/g", patternBytes(3)).catch((e: unknown) => e);
    expect(err instanceof FsError && err.code).toBe("ENOTDIR");
    rmSync(dir, { recursive: true, force: true });
  });

  test("a block key is one file in its inode's directory; keys list in order across both layouts", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    await store.put("blocks/1/42/7/0/0", patternBytes(16, 1));
    expect(allFiles(dir)).toEqual([join("blocks", "1", "42", "7\\0\\0")]);
    // A store written before this layout kept every component as a directory: still read, listed
    // in key order among flat keys, listed once when rewritten since, and deleted in both places.
    for (const [path, seed] of [["blocks/1/42/7/0/1", 2], ["blocks/1/42/7/1/0", 3], ["blocks/1/42/6/0/0", 4]] as const) {
      mkdirSync(join(dir, ...path.split("/").slice(0, -1)), { recursive: true });
      writeFileSync(join(dir, ...path.split("/")), patternBytes(16, seed));
    }
    expect(await store.get("blocks/1/42/7/0/1")).toEqual(patternBytes(16, 2));
    expect(await store.head("blocks/1/42/6/0/0")).toEqual({ sizeBytes: 16 });
    await store.put("blocks/1/42/7/0/2", patternBytes(16, 5));
    await store.put("blocks/1/42/7/1/0", patternBytes(16, 6));
    const all = ["blocks/1/42/6/0/0", "blocks/1/42/7/0/0", "blocks/1/42/7/0/1", "blocks/1/42/7/0/2", "blocks/1/42/7/1/0"];
    expect((await store.list("blocks/")).keys).toEqual(all);
    expect((await store.list("blocks/1/42/7/0/")).keys).toEqual(all.slice(1, 4));
    expect((await store.list("blocks/1/42/", { after: "blocks/1/42/7/0/0", limit: 2 })).keys).toEqual(all.slice(2, 4));
    expect(await store.get("blocks/1/42/7/1/0")).toEqual(patternBytes(16, 6));
    await store.delete("blocks/1/42/7/1/0");
    expect(await store.head("blocks/1/42/7/1/0")).toBeNull();
    for (const key of all.slice(0, 4)) await store.delete(key);
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a tail too long for one file name stays nested", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    const long = "n".repeat(200);
    const key = `a/b/c/${long}/${long}`;
    await store.put(key, patternBytes(8));
    expect(allFiles(dir)).toEqual([join("a", "b", "c", long, long)]);
    expect((await store.list("a/")).keys).toEqual([key]);
    expect(await store.get(key)).toEqual(patternBytes(8));
    rmSync(dir, { recursive: true, force: true });
  });

  test("url is file:// and the absolute directory", async () => {
    const dir = tempDir();
    const store = await FileObjectStore.open({ dir });
    expect(store.url).toBe(`file://${dir}`);
    rmSync(dir, { recursive: true, force: true });
  });
});
