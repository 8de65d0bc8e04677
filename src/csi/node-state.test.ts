import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeState, type StagedVolume } from "./node-state.ts";

const dir = mkdtempSync(join(tmpdir(), "nokv-csi-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const volume = (id: string): StagedVolume => ({ volumeId: id, stagingPath: `/stage/${id}`, server: "nokv://m:7777", token: "secret", mount: "default", path: "/volumes/a", readOnly: false, capacityBytes: 10, pid: 42, publishes: { "/pods/p/mount": { readOnly: true } } });

describe("node state", () => {
  test("staged volumes survive a new NodeState on the same directory; files are root-only", () => {
    const a = new NodeState(dir);
    a.put(volume("sub:default:/volumes/a"));
    a.put(volume("mnt:b"));
    const b = new NodeState(dir);
    expect(b.get("mnt:b")).toEqual(volume("mnt:b"));
    expect(b.all().map((v) => v.volumeId).sort()).toEqual(["mnt:b", "sub:default:/volumes/a"]);
    expect(statSync(join(dir, "volumes")).mode & 0o777).toBe(0o700);
    b.remove("mnt:b");
    expect(b.get("mnt:b")).toBeNull();
    expect(b.all()).toHaveLength(1);
  });
});
