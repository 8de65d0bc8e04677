import { describe, expect, test } from "bun:test";
import { DT_REG, NOTIFY, OPCODE, SIZE } from "./abi.ts";
import { Notifier } from "./notify.ts";
import { opSpec, OPCODE_TABLE } from "./opcode-table.ts";
import { LIMITS } from "../../types/index.ts";
import { DirentBuffer, encodeAttrOut, encodeEntry, frame, frameParts } from "./reply.ts";
import { parseReply } from "./testing.ts";

const attr = { ino: 42, sizeBytes: 5000, blocks512: 10, atimeNs: 1_000_000_001n, mtimeNs: 2_500_000_000n, ctimeNs: 3n, mode: 0o100644, nlink: 1, uid: 7, gid: 8, blockSizeBytes: 4096 };

describe("reply encoding", () => {
  test("fuse_entry_out lays out node id, timeouts and attributes as <linux/fuse.h> does", () => {
    const out = encodeEntry({ nodeid: 42, entryValidMs: 1500, attrValidMs: 250, attr });
    expect(out.byteLength).toBe(SIZE.entryOut);
    const v = new DataView(out.buffer);
    expect(v.getBigUint64(0, true)).toBe(42n);
    expect(v.getBigUint64(16, true)).toBe(1n); // entry_valid seconds
    expect(v.getUint32(32, true)).toBe(500_000_000); // entry_valid_nsec
    expect(v.getBigUint64(24, true)).toBe(0n);
    expect(v.getUint32(36, true)).toBe(250_000_000);
    expect(v.getBigUint64(40 + 8, true)).toBe(5000n); // attr.size
    expect(v.getBigUint64(40 + 24, true)).toBe(1n); // atime seconds
    expect(v.getUint32(40 + 48, true)).toBe(1); // atimensec
    expect(v.getBigUint64(40 + 32, true)).toBe(2n);
    expect(v.getUint32(40 + 52, true)).toBe(500_000_000);
    expect(v.getUint32(40 + 60, true)).toBe(0o100644);
    expect(v.getUint32(40 + 68, true)).toBe(7);
  });

  test("fuse_attr_out and the out header", () => {
    const reply = parseReply(frame(99n, 0, encodeAttrOut({ attrValidMs: 2000, attr })));
    expect(reply).toMatchObject({ lengthBytes: SIZE.outHeader + SIZE.attrOut, errno: 0, unique: 99n });
    expect(reply.body.getBigUint64(0, true)).toBe(2n);
    expect(reply.body.getBigUint64(16, true)).toBe(42n);
    expect(parseReply(frame(1n, 2, null))).toMatchObject({ lengthBytes: SIZE.outHeader, errno: 2 });
  });

  test("a large body is written behind its own header, uncopied; a small one copied into one frame", () => {
    const small = new Uint8Array(LIMITS.fuseReplyCopyMaxBytes).fill(1);
    expect(frameParts(5n, 0, small)).toEqual([frame(5n, 0, small)]);
    const large = new Uint8Array(LIMITS.fuseReplyCopyMaxBytes + 1).fill(2);
    const parts = frameParts(6n, 0, large);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(large);
    const whole = new Uint8Array(parts[0]!.byteLength + large.byteLength);
    whole.set(parts[0]!, 0);
    whole.set(large, parts[0]!.byteLength);
    expect(Buffer.from(whole).equals(frame(6n, 0, large))).toBe(true);
    expect(parseReply(parts[0]!)).toMatchObject({ lengthBytes: SIZE.outHeader + large.byteLength, errno: 0, unique: 6n });
  });

  test("dirents are 8-byte aligned and stop when the kernel's buffer is full", () => {
    const buffer = new DirentBuffer(false, 64);
    expect(buffer.add({ name: "abc", ino: 5, type: DT_REG, nextOffset: 3 })).toBe(true); // 24 + 3 -> 32
    expect(buffer.add({ name: "defghijklm", ino: 6, type: DT_REG, nextOffset: 4 })).toBe(false); // 24 + 10 -> 40
    expect(buffer.add({ name: "x", ino: 7, type: DT_REG, nextOffset: 5 })).toBe(true);
    const out = buffer.finish();
    expect(out.byteLength).toBe(64);
    const v = new DataView(out.buffer, out.byteOffset);
    expect(v.getBigUint64(8, true)).toBe(3n);
    expect(v.getUint32(16, true)).toBe(3);
    expect(new TextDecoder().decode(out.subarray(24, 27))).toBe("abc");
    expect(v.getBigUint64(32, true)).toBe(7n);
  });

  test("direntplus records carry an entry_out before the dirent", () => {
    const buffer = new DirentBuffer(true, 4096);
    buffer.add({ name: "f", ino: 42, type: DT_REG, nextOffset: 3, entry: { nodeid: 42, entryValidMs: 0, attrValidMs: 0, attr } });
    const out = buffer.finish();
    expect(out.byteLength).toBe(SIZE.entryOut + SIZE.direntHeader + 8);
    expect(new DataView(out.buffer).getBigUint64(SIZE.entryOut, true)).toBe(42n);
  });
});

describe("notifications", () => {
  test("are encoded with unique 0 and the notify code, and only after INIT", () => {
    const sent: Uint8Array[] = [];
    let minor: number | null = null;
    const notifier = new Notifier((f) => sent.push(f), () => minor);
    expect(notifier.notifyInvalEntry(1, "a")).toBe(false);
    minor = 38;
    expect(notifier.notifyInvalEntry(7, "name")).toBe(true);
    expect(notifier.notifyInvalInode(9, -1, 0)).toBe(true);
    const entry = parseReply(sent[0]!);
    expect(entry.unique).toBe(0n);
    expect(new DataView(sent[0]!.buffer).getInt32(4, true)).toBe(NOTIFY.INVAL_ENTRY);
    expect(entry.body.getBigUint64(0, true)).toBe(7n);
    expect(entry.body.getUint32(8, true)).toBe(4);
    expect(entry.lengthBytes).toBe(SIZE.outHeader + SIZE.notifyInvalEntry + 5); // name and its NUL
    const inode = parseReply(sent[1]!);
    expect(inode.body.getBigInt64(8, true)).toBe(-1n);
  });
});

describe("opcode table", () => {
  test("covers every opcode the frontend serves, with in-struct sizes from <linux/fuse.h>", () => {
    const expected: Record<string, number> = {
      LOOKUP: 0, FORGET: 8, GETATTR: 16, SETATTR: 88, READLINK: 0, SYMLINK: 0, MKNOD: 16, MKDIR: 8, UNLINK: 0, RMDIR: 0, RENAME: 8,
      LINK: 8, OPEN: 8, READ: 40, WRITE: 40, STATFS: 0, RELEASE: 24, FSYNC: 16, SETXATTR: 8, GETXATTR: 8, LISTXATTR: 8, REMOVEXATTR: 0,
      FLUSH: 24, INIT: 16, OPENDIR: 8, READDIR: 40, RELEASEDIR: 24, FSYNCDIR: 16, ACCESS: 8, CREATE: 16, INTERRUPT: 8, DESTROY: 0,
      BATCH_FORGET: 8, READDIRPLUS: 40, RENAME2: 16, FALLOCATE: 32, TMPFILE: 16,
    };
    const actual = Object.fromEntries([...OPCODE_TABLE.values()].map((spec) => [spec.name, spec.inSizeBytes]));
    expect(actual).toEqual(expected);
    expect(opSpec(OPCODE.GETLK)).toBeUndefined();
  });
});
