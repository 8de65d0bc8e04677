import { describe, expect, test } from "bun:test";
import { FsError } from "../types/index.ts";
import { CsiCode, codeName, notFound, toCsiError } from "./errors.ts";

describe("CSI status of a failure", () => {
  test("a CsiError keeps its code; an FsError maps by errno; anything else is INTERNAL", () => {
    expect(toCsiError(notFound("gone")).code).toBe(CsiCode.NOT_FOUND);
    expect(toCsiError(new FsError("ENOENT", "x")).code).toBe(CsiCode.NOT_FOUND);
    expect(toCsiError(new FsError("EEXIST", "x")).code).toBe(CsiCode.ALREADY_EXISTS);
    expect(toCsiError(new FsError("EACCES", "x")).code).toBe(CsiCode.PERMISSION_DENIED);
    expect(toCsiError(new FsError("ECONNREFUSED", "x")).code).toBe(CsiCode.UNAVAILABLE);
    expect(toCsiError(Object.assign(new Error("not connected"), { code: "ENOTCONN" })).code).toBe(CsiCode.UNAVAILABLE);
    const internal = toCsiError(new TypeError("bug"));
    expect(internal.code).toBe(CsiCode.INTERNAL);
    expect(internal.message).toBe("bug");
    expect(codeName(CsiCode.ALREADY_EXISTS)).toBe("ALREADY_EXISTS");
  });
});
