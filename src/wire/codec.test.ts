import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { decodePayload, encodePayload, encodeValueFrame } from "./codec.ts";
import { FLAG_RESPONSE, FrameError, encodeFrame } from "./frame.ts";
import { checkPayload } from "./msgpack-guard.ts";
import { LIMITS } from "../types/limits.ts";
import { nowNs } from "../types/attrs.ts";
import { codeOf, randomBytes, randomInt, seededRandom } from "./testing.ts";

const attrs = {
  inode: 2 ** 40 + 7,
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  sizeBytes: Number.MAX_SAFE_INTEGER,
  generation: 3,
  nlink: 1,
  parent: 1,
  atimeNs: nowNs(),
  mtimeNs: -1n,
  ctimeNs: 2n ** 63n - 1n,
  target: "",
  version: 123_456_789,
};

const sample = {
  op: "create",
  args: { parent: 1, name: "naïve ☃ 名前", mode: 0o600, ratio: 0.25, missing: undefined, nothing: null },
  body: new Uint8Array([0, 1, 2, 255]),
  list: [attrs, attrs, -32, -33, 127, 128, 65_535, 2 ** 32, -(2 ** 31) - 1, true, false],
};

/** Nest `depth` one-element arrays around 0: [[[...[0]...]]]. */
function nestedArrays(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth + 1);
  bytes.fill(0x91, 0, depth);
  return bytes;
}

/** What a value becomes on the way back: undefined is nil, integers beyond +-2^53 are bigint, others number. */
function normalized(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) > 2 ** 53 && Math.abs(value) < 2 ** 63) return BigInt(value);
  if (typeof value === "bigint" && value >= -(2n ** 53n) && value <= 2n ** 53n) return Number(value);
  if (Array.isArray(value)) return value.map(normalized);
  if (value instanceof Uint8Array) return value;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalized(v)]));
  }
  return value;
}

describe("codec round trip", () => {
  test("plain wire values come back equal, big integers exactly, undefined as null", () => {
    const back = decodePayload(encodePayload(sample)) as typeof sample;
    expect(back).toEqual(normalized(sample) as typeof sample);
    expect(back.list[0]).toEqual(normalized(attrs) as typeof attrs);
    expect(typeof (back.list[0] as typeof attrs).atimeNs).toBe("bigint");
    expect(back.body).toBeInstanceOf(Uint8Array);
    expect(back.args.missing).toBeNull();
  });

  test("bigint at the int64 edges round-trips exactly; beyond uint64 is EINVAL at encode", () => {
    for (const value of [2n ** 63n - 1n, -(2n ** 63n), 1_700_000_000_123_456_789n, 2n ** 53n + 1n, -(2n ** 53n) - 1n]) {
      expect(decodePayload(encodePayload({ value }))).toEqual({ value });
    }
    for (const value of [0n, -1n, 1n, 2n ** 53n, -(2n ** 53n)]) {
      expect(decodePayload(encodePayload({ value }))).toEqual({ value: Number(value) });
    }
    expect(codeOf(() => encodePayload({ value: 2n ** 64n }))).toBe("EINVAL");
  });

  test("64-bit integer tokens: within +-2^53 a number, beyond a bigint, whatever else the payload holds", () => {
    // Hand-built tokens, as another msgpack library may write them: uint64 and int64 even for small values.
    const token = (code: 0xcf | 0xd3, value: bigint) => {
      const out = new Uint8Array(9);
      out[0] = code;
      new DataView(out.buffer).setBigUint64(1, BigInt.asUintN(64, value));
      return out;
    };
    const array = (...tokens: Uint8Array[]) => Uint8Array.from([0x90 + tokens.length, ...tokens.flatMap((t) => [...t])]);
    const big = [2n ** 60n, 2n ** 53n + 1n, 2n ** 53n + 2n ** 32n, 1_700_000_000_123_456_789n, 2n ** 64n - 1n];
    const small = [0n, 5n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n];
    const bigNegative = [-(2n ** 53n) - 1n, -(2n ** 53n) - 2n ** 32n, -(2n ** 63n)];
    const smallNegative = [-1n, -(2n ** 32n), -(2n ** 53n)];
    const expected = (v: bigint) => (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v);
    // All beyond 2^53 (the fast path), then each small value among them (the checked path).
    const bigTokens = [...big.map((v) => token(0xcf, v)), ...bigNegative.map((v) => token(0xd3, v))];
    const bigValues = [...big, ...bigNegative];
    expect(decodePayload(array(...bigTokens))).toEqual(bigValues);
    for (const [code, v] of [...small.map((v) => [0xcf, v] as const), ...smallNegative.map((v) => [0xd3, v] as const), [0xd3, 7n] as const]) {
      expect(decodePayload(array(...bigTokens, token(code, v)))).toEqual([...bigValues, expected(v)]);
      expect(decodePayload(array(token(code, v), ...bigTokens))).toEqual([expected(v), ...bigValues]);
    }
  });

  test("encodeValueFrame is encodeFrame of encodePayload, byte for byte", () => {
    const direct = encodeValueFrame(2 ** 40, FLAG_RESPONSE, sample);
    expect(Buffer.from(direct).equals(encodeFrame(2 ** 40, FLAG_RESPONSE, encodePayload(sample)))).toBe(true);
  });

  test("an earlier encoding is not overwritten by later ones", () => {
    const first = encodePayload({ n: 1 });
    const copy = Buffer.from(first);
    for (let i = 0; i < 10_000; i++) encodePayload({ n: i, pad: "x".repeat(i % 100) });
    expect(Buffer.from(first).equals(copy)).toBe(true);
  });

  test("a __proto__ key stays data and pollutes nothing", () => {
    const bytes = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x81, 0xa1, 0x78, 0x01]);
    const value = decodePayload(bytes) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("codec refuses bad payloads with FrameError EPROTO", () => {
  test("empty, never-used byte, truncated at every length, trailing bytes", () => {
    expect(codeOf(() => decodePayload(new Uint8Array(0)))).toBe("EPROTO");
    expect(codeOf(() => decodePayload(new Uint8Array([0xc1])))).toBe("EPROTO");
    const whole = encodePayload(sample);
    for (let length = 0; length < whole.length; length++) {
      expect(codeOf(() => decodePayload(whole.subarray(0, length)))).toBe("EPROTO");
    }
    const trailing = new Uint8Array([...whole, 0x00]);
    expect(() => decodePayload(trailing)).toThrow(/1 bytes after the msgpack value/);
  });

  test("a 1,000-deep nested array is refused before msgpackr recurses; the depth limit itself is fine", () => {
    expect(() => decodePayload(nestedArrays(1_000))).toThrow(/nested deeper than 64/);
    expect(() => decodePayload(nestedArrays(1_000_000))).toThrow(FrameError);
    expect(codeOf(() => decodePayload(nestedArrays(LIMITS.payloadMaxDepth)))).toBe("none");
    expect(codeOf(() => decodePayload(nestedArrays(LIMITS.payloadMaxDepth + 1)))).toBe("EPROTO");
  });

  test("length headers that promise more than the bytes hold never allocate", () => {
    expect(codeOf(() => decodePayload(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x00])))).toBe("EPROTO");
    expect(codeOf(() => decodePayload(new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff])))).toBe("EPROTO");
    expect(codeOf(() => decodePayload(new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])))).toBe("EPROTO");
  });

  test("an item count above the limit is refused", () => {
    const thousand = encodePayload(Array.from({ length: 1_000 }, () => ({})));
    expect(codeOf(() => checkPayload(thousand, { maxDepth: 8, maxItems: 1_001 }))).toBe("none");
    expect(() => checkPayload(thousand, { maxDepth: 8, maxItems: 1_000 })).toThrow(/more than 1000 msgpack items/);
  });

  test("msgpackr extensions a peer must not reach: Date, RegExp, Error, Set, records, typed arrays", () => {
    const foreign = [new Date(0), /a+/, new Error("x"), new Set([1]), new Float64Array([1])];
    const richPackr = new Packr({ moreTypes: true });
    for (const value of foreign) expect(codeOf(() => decodePayload(richPackr.pack(value)))).toBe("EPROTO");
    // A record definition: fixext1 type 0x72 ("r") then the keys; and what msgpackr's default sends.
    expect(codeOf(() => decodePayload(new Uint8Array([0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01])))).toBe("EPROTO");
    expect(codeOf(() => decodePayload(new Packr({ useRecords: true }).pack([{ a: 1 }, { a: 2 }])))).toBe("EPROTO");
  });

  test("2,000 random byte strings and 2,000 mutated encodings only ever throw FrameError", () => {
    const random = seededRandom(2024);
    const valid = encodePayload(sample);
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 2_000; i++) inputs.push(randomBytes(random, randomInt(random, 64)));
    for (let i = 0; i < 2_000; i++) {
      const mutated = Uint8Array.from(valid);
      for (let flips = 1 + randomInt(random, 4); flips > 0; flips--) {
        mutated[randomInt(random, mutated.length)] = randomInt(random, 256);
      }
      inputs.push(mutated);
    }
    let accepted = 0;
    for (const input of inputs) {
      try {
        decodePayload(input);
        accepted++;
      } catch (err) {
        if (!(err instanceof FrameError) || err.code !== "EPROTO") throw err;
      }
    }
    expect(accepted).toBeGreaterThan(0);
    // A failed decode leaves no state behind in the shared decoder.
    expect(decodePayload(valid)).toEqual(normalized(sample));
  });
});
