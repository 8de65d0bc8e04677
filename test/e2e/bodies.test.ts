import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
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

  test("objects overrides the store metad names", async () => {
    expect(c.objectsUrl).toBe(h.metad.objects.url);
    const other = await h.client({ objects: `file://${h.dir}/elsewhere` });
    await other.publish("/elsewhere", "routed");
    expect(await h.metad.objects.list("blocks/")).toMatchObject({ keys: [] });
    expect(await other.readFile("/elsewhere", "utf8")).toBe("routed");
    expect(await c.readFile("/elsewhere").catch((e: FsError) => e.code)).toBe("EIO");
  });
});
