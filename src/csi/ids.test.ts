import { describe, expect, test } from "bun:test";
import { CsiError } from "./errors.ts";
import { nameKey, parseSnapshotId, parseVolumeId, snapshotId, volumeId } from "./ids.ts";

describe("csi ids", () => {
  test("volume ids round-trip, mount names with ':' included", () => {
    const sub = { layout: "subdir", mount: "team:a", path: "/volumes/pvc-1" } as const;
    expect(volumeId(sub)).toBe("sub:team%3Aa:/volumes/pvc-1");
    expect(parseVolumeId(volumeId(sub))).toEqual(sub);
    const whole = { layout: "mount", mount: "pvc-2", path: "/" } as const;
    expect(parseVolumeId(volumeId(whole))).toEqual(whole);
  });

  test("foreign or malformed ids are not volumes", () => {
    for (const id of ["fake-vol-id", "fake-vol-id-1234", "sub:m:relative", "sub:m:/a/../b", "sub:m:/a//b", "mnt:", "sub:%E0:/x", "snap:m:1:x"]) {
      expect(parseVolumeId(id)).toBeNull();
    }
  });

  test("names become path components: plain ones kept, others hashed", () => {
    expect(nameKey("pvc-0a1b")).toBe("pvc-0a1b");
    const long = nameKey("a".repeat(128));
    expect(long).toMatch(/^h-[0-9a-f]{40}$/);
    expect(nameKey("a".repeat(128))).toBe(long);
    expect(nameKey("has/slash")).toMatch(/^h-/);
    expect(nameKey("..")).toMatch(/^h-/);
  });

  test("ids longer than CSI allows are refused with the reason", () => {
    expect(() => volumeId({ layout: "subdir", mount: "m".repeat(120), path: "/volumes/x" })).toThrow(CsiError);
  });

  test("snapshot ids round-trip", () => {
    const ref = { mount: "default", snapshot: 12, entry: "snap-1" };
    expect(parseSnapshotId(snapshotId(ref))).toEqual(ref);
    expect(parseSnapshotId("reallyfakesnapshotid")).toBeNull();
    expect(parseSnapshotId("snap:m:0:x")).toBeNull();
  });
});
