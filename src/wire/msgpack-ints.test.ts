import { describe, expect, test } from "bun:test";
import { decodePayload, encodePayload, encodeValueFrame } from "./codec.ts";
import { FRAME_HEADER_BYTES, FLAG_RESPONSE } from "./frame.ts";
import { okResponse } from "./messages.ts";
import { floatsToIntegers } from "./msgpack-ints.ts";
import { codeOf, randomInt, seededRandom } from "./testing.ts";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** The msgpack token types in `bytes` (a scalar value only): the first byte. */
function tokenOf(value: unknown): number {
  return encodePayload(value)[0]!;
}

describe("every integer is a msgpack integer on the wire", () => {
  test("numbers above 2^32 travel as uint64 / int64 with their exact value", () => {
    expect(hex(encodePayload(2 ** 32))).toBe("cf0000000100000000");
    expect(hex(encodePayload(2 ** 40 + 7))).toBe("cf0000010000000007");
    expect(hex(encodePayload(Number.MAX_SAFE_INTEGER))).toBe("cf001fffffffffffff");
    expect(hex(encodePayload(-(2 ** 31) - 1))).toBe("d3ffffffff7fffffff");
    expect(hex(encodePayload(-Number.MAX_SAFE_INTEGER))).toBe("d3ffe0000000000001");
    // Beyond 2^53 a number is still integral: it goes out as the integer it equals.
    expect(hex(encodePayload(2 ** 60))).toBe("cf1000000000000000");
    expect(hex(encodePayload(2 ** 64 - 2 ** 11))).toBe("cffffffffffffff800");
    expect(hex(encodePayload(-(2 ** 63)))).toBe("d38000000000000000");
  });

  test("fractions, NaN, the infinities and numbers beyond 64 bits stay float64", () => {
    for (const value of [0.5, -1.25, 2 ** 40 + 0.5, Number.NaN, Infinity, -Infinity, 2 ** 64, -(2 ** 63) - 2 ** 12, 1e300]) {
      expect(tokenOf(value)).toBe(0xcb);
    }
  });

  test("float64-looking bytes inside strings, binary and the frame header are left alone", () => {
    const body = new Uint8Array([0xcb, 0x41, 0xf0, 0, 0, 0, 0, 0, 0, 0xcb]);
    const text = String.fromCharCode(0xcb) + "\u00cb";
    const value = { body, text, n: 2 ** 33, list: [body, 2 ** 34, 1.5] };
    const back = decodePayload(encodePayload(value));
    expect(back).toEqual({ body, text, n: 2 ** 33, list: [body, 2 ** 34, 1.5] });
    // A request id whose header bytes hold 0xcb: the header is outside the payload scan.
    const frame = encodeValueFrame(0xcbcbcb, FLAG_RESPONSE, { n: 2 ** 35 });
    expect(hex(frame.subarray(0, 8))).toBe("0000000000cbcbcb");
    const payload = frame.subarray(FRAME_HEADER_BYTES);
    expect(payload.includes(0xcb)).toBe(false);
    expect(decodePayload(payload)).toEqual({ n: 2 ** 35 });
  });

  test("a reply with no value carries nil, never an extension", () => {
    expect(hex(encodePayload(undefined))).toBe("c0");
    const bytes = encodePayload(okResponse(undefined));
    expect(bytes.includes(0xd4)).toBe(false);
    expect(decodePayload(bytes)).toEqual({ ok: true, value: null });
    expect(decodePayload(encodePayload([undefined, { a: undefined }]))).toEqual([null, { a: null }]);
  });

  test("every extension is refused on decode, fixext 0 (msgpackr's undefined) too", () => {
    for (const bytes of [[0xd4, 0x00, 0x00], [0xd5, 0x01, 0, 0], [0xc7, 0x01, 0x05, 0x00], [0xd8, 0x02, ...new Array(16).fill(0)]]) {
      expect(() => decodePayload(new Uint8Array(bytes))).toThrow(/extension type \d+ is not wire data/);
    }
  });

  test("integers from other encoders decode exactly: within +-2^53 as number, beyond as bigint", () => {
    // What Python's msgpack sends: the smallest integer encoding.
    const cases: Array<[string, unknown]> = [
      ["cf0000000100000000", 2 ** 32],
      ["cf0020000000000000", 2 ** 53],
      ["cf0020000000000001", 2n ** 53n + 1n],
      ["cfffffffffffffffff", 2n ** 64n - 1n],
      ["d38000000000000000", -(2n ** 63n)],
      ["d3ffdfffffffffffff", -(2n ** 53n) - 1n],
      ["d3ffffffffffffffff", -1],
      ["ce ffffffff".replace(" ", ""), 2 ** 32 - 1],
    ];
    for (const [bytes, value] of cases) expect(decodePayload(Buffer.from(bytes, "hex"))).toEqual(value);
  });

  test("3,000 random trees: no integral float64 token survives, and values come back exact", () => {
    const random = seededRandom(15);
    const scalars = () => {
      const pick = randomInt(random, 6);
      const magnitude = 2 ** randomInt(random, 64);
      if (pick === 0) return Math.floor(random() * magnitude) * (random() < 0.5 ? -1 : 1);
      if (pick === 1) return random() * magnitude;
      if (pick === 2) return BigInt(Math.floor(random() * magnitude));
      if (pick === 3) return "x".repeat(randomInt(random, 40));
      if (pick === 4) return new Uint8Array(randomInt(random, 20)).map(() => randomInt(random, 256));
      return null;
    };
    const tree = (depth: number): unknown => {
      if (depth === 0 || random() < 0.4) return scalars();
      const items = Array.from({ length: randomInt(random, 6) }, () => tree(depth - 1));
      return random() < 0.5 ? items : Object.fromEntries(items.map((v, i) => [`k${i}`, v]));
    };
    for (let i = 0; i < 3_000; i++) {
      const value = tree(4);
      const bytes = encodePayload(value);
      const back = decodePayload(bytes);
      const check = (a: unknown, b: unknown): void => {
        if (typeof a === "number" && Number.isInteger(a)) {
          // Integral numbers below 2^64 come back as the same integer, in number or bigint form.
          expect(typeof b === "bigint" ? b : BigInt(b as number)).toBe(BigInt(a));
        } else if (typeof a === "bigint") {
          expect(BigInt(b as number | bigint)).toBe(a);
        } else if (Array.isArray(a)) {
          (a as unknown[]).forEach((v, j) => check(v, (b as unknown[])[j]));
        } else if (a !== null && typeof a === "object" && !(a instanceof Uint8Array)) {
          for (const [k, v] of Object.entries(a)) check(v, (b as Record<string, unknown>)[k]);
        } else {
          expect(b).toEqual(a);
        }
      };
      check(value, back);
    }
  });

  test("floatsToIntegers on bytes with no float is a no-op", () => {
    const bytes = encodePayload({ a: [1, 2, "three"], b: new Uint8Array([1, 2]) });
    const copy = Uint8Array.from(bytes);
    floatsToIntegers(bytes);
    expect(hex(bytes)).toBe(hex(copy));
    expect(codeOf(() => decodePayload(bytes))).toBe("none");
  });
});
