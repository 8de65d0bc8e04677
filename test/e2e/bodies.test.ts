import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { FsError } from "../../src/types/index.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { runBodySuite } from "./bodies-suite.ts";

// The data path against the embedded file:// store, plus what only a local store can show.

setDefaultTimeout(30_000);

runBodySuite("file://", () => startMetad());

describe("file bodies (file:// only)", () => {
  let h: MetadHarness;
  let c: NoKVClient;
  beforeAll(async () => {
    h = await startMetad();
    c = await h.client();
  });
  afterAll(() => h.stop());

  test("the store opens on first data use; one that cannot be opened fails the publish and stages nothing", async () => {
    const broken = await h.client({ objects: "file:///proc/nokv-cannot-exist/objects" });
    // Metadata works without the store: it is opened only for bytes.
    await broken.mkdir("/meta-only");
    const err = await broken.publish("/meta-only/f", "bytes").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).path).toBe("/meta-only/f");
    expect(await c.exists("/meta-only/f")).toBe(false);
    expect(h.metad.service.store.scanStagedExpired(Number.MAX_SAFE_INTEGER, 100).length).toBe(0);
  });

  test("objects overrides the route to the store metad names; another store is refused, naming both ids", async () => {
    expect(c.objectsUrl).toBe(h.metad.objects.url);
    // Another route to the same store (here a symlink to its directory) works.
    symlinkSync(join(h.dir, "objects"), join(h.dir, "objects-link"));
    const routed = await h.client({ objects: `file://${h.dir}/objects-link` });
    await routed.publish("/routed", "routed");
    expect(await c.readFile("/routed", "utf8")).toBe("routed");
    // A different store is not this metadata's: no byte is written to or read from it.
    const other = await h.client({ objects: `file://${h.dir}/elsewhere` });
    const err = (await other.publish("/elsewhere", "x").catch((e: unknown) => e)) as FsError;
    expect(err.code).toBe("EXDEV");
    expect(String(err.cause)).toContain(h.metad.storeId);
    expect(String(err.cause)).toContain("carries no store id");
    expect(await other.readFile("/routed").catch((e: FsError) => e.code)).toBe("EXDEV");
    expect(await c.exists("/elsewhere")).toBe(false);
  });
});
