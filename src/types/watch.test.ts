import { describe, expect, test } from "bun:test";
import { formatCursor, parseCursor } from "./watch.ts";

describe("watch cursors", () => {
  test("parse is exact up to 2^53 - 1 and round-trips through format", () => {
    for (const text of ["0.0", "1.2", "123456789.0", `${Number.MAX_SAFE_INTEGER}.${Number.MAX_SAFE_INTEGER}`, "0004.05"]) {
      const cursor = parseCursor(text)!;
      expect(cursor).not.toBeNull();
      expect(BigInt(cursor.version)).toBe(BigInt(text.split(".")[0]!));
      expect(BigInt(cursor.ordinal)).toBe(BigInt(text.split(".")[1]!));
    }
    expect(formatCursor({ version: Number.MAX_SAFE_INTEGER, ordinal: 3 })).toBe("9007199254740991.3");
    expect(parseCursor(formatCursor({ version: 2 ** 52 + 1, ordinal: 7 }))).toEqual({ version: 2 ** 52 + 1, ordinal: 7 });
  });

  test("a part at or above 2^53 is refused, never rounded to a neighbouring position", () => {
    for (const text of ["9007199254740992.0", "9007199254740993.1", "1.9007199254740993", "18446744073709551615.0", "99999999999999999999.0"]) {
      expect(parseCursor(text)).toBeNull();
    }
  });

  test("anything but VERSION.ORDINAL is refused", () => {
    for (const text of ["", "1", "1.", ".1", "-1.0", "1.0.0", "1e3.0", " 1.0", "1.0 ", "0x10.0", "123456789012345678901.0"]) {
      expect(parseCursor(text)).toBeNull();
    }
  });
});
