import { afterEach, expect, test } from "bun:test";
import { startMetad, type MetadHarness } from "../../test/harness.ts";
import { FsError, LIMITS, ROOT_INODE, type BodyManifest } from "../types/index.ts";

// A publish's `changes` over the wire (ops-data.ts publishChanges): the setattr a writer made
// while its bytes were unpublished lands with them; a size is refused by name.

let h: MetadHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const emptyBody = (blockSizeBytes: number): BodyManifest => ({
  summary: { sizeBytes: 0, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes, chunkCount: 0, digest: "", producer: "test", contentType: "" },
  chunks: [],
});

test("a publish's changes set mode, owner and times in the same command; sizeBytes is EINVAL naming it", async () => {
  h = await startMetad();
  const c = await h.client();
  const version = () => h!.metad.service.store.shardState(1).version;
  const prep = await c.inode.prepare(ROOT_INODE, "f");
  const refused = await c.inode.publishManifest(ROOT_INODE, "f", prep.prepareId, emptyBody(prep.blockSizeBytes), { changes: { sizeBytes: 5 } as never }).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(FsError);
  expect((refused as FsError).code).toBe("EINVAL");
  expect((refused as FsError).message).toContain("sizeBytes");
  await expect(c.stat("/f")).rejects.toMatchObject({ code: "ENOENT" });
  const before = version();
  const changes = { mode: 0o640, uid: 7, gid: 8, mtimeNs: 1_500_000_000_123_456_789n };
  const { attrs } = await c.inode.publishManifest(ROOT_INODE, "f", prep.prepareId, emptyBody(prep.blockSizeBytes), { changes });
  expect(version()).toBe(before + 1);
  expect(attrs).toMatchObject(changes);
  const st = await c.stat("/f");
  expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeNs]).toEqual([0o640, 7, 8, changes.mtimeNs]);
});
