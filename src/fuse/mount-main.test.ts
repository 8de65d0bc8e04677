import { describe, expect, test } from "bun:test";
import { LIMITS } from "../types/index.ts";
import { connectOptions, parseMountArgs } from "./mount-main.ts";

describe("nokv-fs mount arguments", () => {
  test("defaults, and every flag", () => {
    expect(parseMountArgs(["/mnt/x"])).toEqual({ mountpoint: "/mnt/x", server: "nokv://127.0.0.1:7777", mount: "default", snapshot: null, readOnly: false, allowOther: false });
    expect(parseMountArgs(["--server", "nokv://h:1", "/mnt/y", "--mount", "m", "--snapshot", "4", "--read-only", "--allow-other"])).toEqual({
      mountpoint: "/mnt/y", server: "nokv://h:1", mount: "m", snapshot: 4, readOnly: true, allowOther: true,
    });
  });

  test("--cache-dir and --cache-max-bytes pass to the SDK connection", () => {
    expect(parseMountArgs(["/mnt/x", "--cache-dir", "/var/cache/nokv", "--cache-max-bytes", "2GiB"])).toMatchObject({ cacheDir: "/var/cache/nokv", cacheMaxBytes: 2 * 1024 ** 3 });
    expect(() => parseMountArgs(["/mnt/x", "--cache-max-bytes", "big"])).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(connectOptions(parseMountArgs(["/mnt/x", "--cache-dir", "/c"]))).toMatchObject({ mount: "default", cacheDir: "/c" });
  });

  test("the in-process block cache is the mount's small one: the kernel's page cache keeps what files read", () => {
    expect(connectOptions(parseMountArgs(["/mnt/x"])).cacheBytes).toBe(LIMITS.fuseBlockCacheBytes);
    expect(LIMITS.fuseBlockCacheBytes).toBeLessThan(LIMITS.blockCacheDefaultBytes);
  });

  test("mistakes are EINVAL with the usage", () => {
    for (const argv of [[], ["--snapshot", "x", "/m"], ["/a", "/b"], ["--bogus", "/m"], ["/m", "--server"]]) {
      expect(() => parseMountArgs(argv)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    }
  });
});
