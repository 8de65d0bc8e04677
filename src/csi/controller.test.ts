import { describe, expect, test } from "bun:test";
import { capacityFor, parseParams } from "./controller.ts";
import { CsiCode, CsiError } from "./errors.ts";

const codeOf = (fn: () => unknown): number | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as CsiError).code;
  }
};

describe("StorageClass parameters", () => {
  test("defaults: a directory under /volumes of mount 'default'", () => {
    expect(parseParams({})).toEqual({ layout: "subdir", mount: "default", basePath: "/volumes" });
    expect(parseParams({ mount: "k8s", basePath: "/a/b/" })).toEqual({ layout: "subdir", mount: "k8s", basePath: "/a/b" });
    expect(parseParams({ layout: "mount", "csi.storage.k8s.io/provisioner-secret-name": "x" }).layout).toBe("mount");
  });

  test("unknown keys, bad layouts and base paths are INVALID_ARGUMENT", () => {
    const bad: Array<Record<string, string>> = [{ size: "1" }, { layout: "zfs" }, { basePath: "relative" }, { basePath: "/" }, { basePath: "/a/../.." }, { layout: "mount", mount: "m" }];
    for (const params of bad) {
      expect(codeOf(() => parseParams(params))).toBe(CsiCode.INVALID_ARGUMENT);
    }
  });
});

describe("capacity", () => {
  test("required, else limit, else unspecified (0)", () => {
    expect(capacityFor({ required_bytes: "100", limit_bytes: "200" })).toBe(100);
    expect(capacityFor({ required_bytes: "0", limit_bytes: "200" })).toBe(200);
    expect(capacityFor(null)).toBe(0);
  });

  test("a required size above the limit is OUT_OF_RANGE", () => {
    expect(codeOf(() => capacityFor({ required_bytes: "300", limit_bytes: "200" }))).toBe(CsiCode.OUT_OF_RANGE);
    expect(new CsiError(CsiCode.OUT_OF_RANGE, "x")).toBeInstanceOf(Error);
  });
});
