import { describe, expect, test } from "bun:test";
import {
  argArray,
  argBigint,
  argBool,
  argBytes,
  argInt,
  argMap,
  argOptional,
  argString,
  describeValue,
  type Args,
} from "./args.ts";
import { codeOf } from "./testing.ts";

const args: Args = {
  name: "a.txt",
  empty: "",
  inode: 42,
  bigInode: 42n,
  huge: 2n ** 60n,
  float: 1.5,
  text: "12",
  mtimeNs: 1_700_000_000_000_000_000n,
  flag: true,
  data: new Uint8Array([1, 2, 3]),
  map: { a: 1 },
  list: [1, 2, 3],
  nothing: null,
};

describe("arg readers", () => {
  test("return well-typed values", () => {
    expect(argString(args, "name")).toBe("a.txt");
    expect(argString(args, "empty", { allowEmpty: true })).toBe("");
    expect(argInt(args, "inode", { min: 1 })).toBe(42);
    expect(argInt(args, "bigInode")).toBe(42);
    expect(argBigint(args, "mtimeNs")).toBe(1_700_000_000_000_000_000n);
    expect(argBigint(args, "inode")).toBe(42n);
    expect(argBool(args, "flag")).toBe(true);
    expect(argBytes(args, "data")).toEqual(new Uint8Array([1, 2, 3]));
    expect(argMap(args, "map")).toEqual({ a: 1 });
    expect(argArray(args, "list")).toEqual([1, 2, 3]);
    expect(argOptional(args, "absent", argString)).toBeUndefined();
    expect(argOptional(args, "nothing", argInt)).toBeUndefined();
    expect(argOptional(args, "inode", argInt, { max: 100 })).toBe(42);
  });

  test("throw EINVAL naming the field, what was wanted and what came", () => {
    const cases: [() => unknown, string][] = [
      [() => argInt(args, "name"), "args.name must be an integer, got string"],
      [() => argInt(args, "float"), "args.float must be an integer, got number 1.5"],
      [() => argInt(args, "huge"), "args.huge must be an integer in [-9007199254740991, 9007199254740991], got bigint 1152921504606846976"],
      [() => argInt(args, "absent"), "args.absent must be an integer, got undefined"],
      [() => argInt(args, "inode", { min: 100 }), "args.inode must be an integer in [100, 9007199254740991], got number 42"],
      [() => argInt(args, "inode", { min: 0, max: 10 }), "args.inode must be an integer in [0, 10], got number 42"],
      [() => argString(args, "inode"), "args.inode must be a string, got number 42"],
      [() => argString(args, "empty"), "args.empty must be a non-empty string, got string"],
      [() => argString(args, "name", { maxBytes: 3 }), "args.name is 5 bytes, limit 3"],
      [() => argBigint(args, "text"), "args.text must be a bigint, got string"],
      [() => argBigint(args, "mtimeNs", { max: 0n }), "args.mtimeNs must be a bigint in [-9223372036854775808, 0], got bigint 1700000000000000000"],
      [() => argBool(args, "nothing"), "args.nothing must be a boolean, got null"],
      [() => argBytes(args, "list"), "args.list must be bytes, got array"],
      [() => argBytes(args, "data", { maxBytes: 2 }), "args.data is 3 bytes, limit 2"],
      [() => argMap(args, "data"), "args.data must be a map, got bytes"],
      [() => argArray(args, "map"), "args.map must be an array, got map"],
      [() => argArray(args, "list", { maxLength: 2 }), "args.list has 3 entries, limit 2"],
      [() => argOptional(args, "name", argInt), "args.name must be an integer, got string"],
    ];
    for (const [read, message] of cases) {
      expect(codeOf(read)).toBe("EINVAL");
      expect(read).toThrow(`EINVAL: invalid argument, ${message}`);
    }
  });

  test("describeValue stays short whatever arrives", () => {
    expect(describeValue("x".repeat(10_000))).toBe("string");
    expect(describeValue(new Date())).toBe("object");
    expect(describeValue(Object.create(null))).toBe("map");
    expect(describeValue(undefined)).toBe("undefined");
  });
});
