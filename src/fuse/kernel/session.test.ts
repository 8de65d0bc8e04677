import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ERRNO, FsError, LIMITS, setUnexpectedErrorLogger } from "../../types/index.ts";
import { FUSE_KERNEL_MINOR_VERSION, INIT_FLAG, OPCODE } from "./abi.ts";
import type { RawFileSystem } from "./raw-fs.ts";
import { FuseSession } from "./session.ts";
import { body, initFrame, parseReply, requestFrame } from "./testing.ts";

const attr = { ino: 1, sizeBytes: 0, blocks512: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, mode: 0o40755, nlink: 2, uid: 0, gid: 0, blockSizeBytes: 4096 };

function harness(fs: RawFileSystem) {
  const replies: Uint8Array[] = [];
  const session = new FuseSession(fs, (parts) => replies.push(Buffer.concat(parts)), 1 << 20);
  return { session, replies, last: () => parseReply(replies[replies.length - 1]!) };
}

async function initialized(fs: RawFileSystem) {
  const h = harness(fs);
  await h.session.dispatch(initFrame(FUSE_KERNEL_MINOR_VERSION + 5, 0xffffffff));
  h.replies.length = 0;
  return h;
}

let restoreLogger: ReturnType<typeof setUnexpectedErrorLogger>;
beforeAll(() => (restoreLogger = setUnexpectedErrorLogger(() => {})));
afterAll(() => setUnexpectedErrorLogger(restoreLogger));

describe("FuseSession", () => {
  test("INIT answers min(kernel minor, ours), only flags we want, and our max_write", async () => {
    const h = harness({});
    await h.session.dispatch(initFrame(FUSE_KERNEL_MINOR_VERSION + 5, 0xffffffff, 7n));
    const reply = h.last();
    expect(reply.errno).toBe(0);
    expect(reply.unique).toBe(7n);
    expect(reply.body.getUint32(0, true)).toBe(7);
    expect(reply.body.getUint32(4, true)).toBe(FUSE_KERNEL_MINOR_VERSION);
    const flags = reply.body.getUint32(12, true);
    expect(flags & INIT_FLAG.DO_READDIRPLUS).toBeTruthy();
    expect(flags & (1 << 16)).toBe(0); // FUSE_WRITEBACK_CACHE stays off: close must publish
    expect(reply.body.getUint32(20, true)).toBe(1 << 20);
    expect(h.session.conn?.minor).toBe(FUSE_KERNEL_MINOR_VERSION);
  });

  test("INIT from a kernel older than 7.31 is refused", async () => {
    const h = harness({});
    await h.session.dispatch(initFrame(26, 0));
    expect(h.last().errno).toBe(ERRNO.EPROTO);
    expect(h.session.conn).toBeNull();
  });

  test("requests before INIT are EIO", async () => {
    const h = harness({ getattr: async () => ({ attrValidMs: 0, attr }) });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.GETATTR, body: body([["u32", 0], ["u32", 0], ["u64", 0]]) }));
    expect(h.last().errno).toBe(ERRNO.EIO);
  });

  test("an unknown opcode is ENOSYS, a missing method too", async () => {
    const h = await initialized({});
    await h.session.dispatch(requestFrame({ opcode: 4242, unique: 9n }));
    expect(h.last()).toMatchObject({ errno: ERRNO.ENOSYS, unique: 9n });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.LOOKUP, body: body([], ["x"]) }));
    expect(h.last().errno).toBe(ERRNO.ENOSYS);
    expect(h.session.counts.unknown).toBe(1);
  });

  test("a body shorter than the opcode's in-struct is EIO; a frame shorter than a header is dropped", async () => {
    const h = await initialized({ getattr: async () => ({ attrValidMs: 0, attr }) });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.GETATTR, body: new Uint8Array(8) }));
    expect(h.last().errno).toBe(ERRNO.EIO);
    const count = h.replies.length;
    await h.session.dispatch(new Uint8Array(10));
    expect(h.replies.length).toBe(count);
    const lying = requestFrame({ opcode: OPCODE.GETATTR, unique: 5n, body: new Uint8Array(16) });
    new DataView(lying.buffer).setUint32(0, 4096, true);
    await h.session.dispatch(lying);
    expect(h.last()).toMatchObject({ errno: ERRNO.EIO, unique: 5n });
  });

  test("a throwing handler answers its errno (FsError) or EIO, and the session keeps serving", async () => {
    let calls = 0;
    const h = await initialized({
      lookup: async (_ctx, _parent, name) => {
        calls++;
        if (name === "missing") throw new FsError("ENOENT");
        if (name === "bug") throw new TypeError("undefined is not a function");
        return { nodeid: 2, entryValidMs: 1000, attrValidMs: 1000, attr: { ...attr, ino: 2 } };
      },
    });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.LOOKUP, body: body([], ["missing"]) }));
    expect(h.last().errno).toBe(ERRNO.ENOENT);
    await h.session.dispatch(requestFrame({ opcode: OPCODE.LOOKUP, body: body([], ["bug"]) }));
    expect(h.last().errno).toBe(ERRNO.EIO);
    await h.session.dispatch(requestFrame({ opcode: OPCODE.LOOKUP, body: body([], ["ok"]) }));
    const ok = h.last();
    expect(ok.errno).toBe(0);
    expect(ok.lengthBytes).toBe(16 + 128);
    expect(ok.body.getBigUint64(0, true)).toBe(2n);
    expect(calls).toBe(3);
  });

  test("lent READ bytes are written behind their own header, then released; a small reply is one frame", async () => {
    const data = new Uint8Array(LIMITS.fuseReplyCopyMaxBytes + 100).map((_, i) => i % 253);
    const parts: number[] = [];
    let releasedAfterReplies = -1;
    let release = 0;
    const fs: RawFileSystem = {
      read: async (_ctx, _nodeid, _fh, offsetBytes, lengthBytes) => ({
        bytes: data.subarray(offsetBytes, offsetBytes + lengthBytes),
        release: () => {
          release++;
          releasedAfterReplies = parts.length;
        },
      }),
    };
    const replies: Uint8Array[] = [];
    const session = new FuseSession(fs, (frameParts) => {
      parts.push(frameParts.length);
      replies.push(Buffer.concat(frameParts));
    }, 1 << 20);
    await session.dispatch(initFrame(FUSE_KERNEL_MINOR_VERSION, 0));
    const readIn = (lengthBytes: number) => body([["u64", 1], ["u64", 0], ["u32", lengthBytes], ["u32", 0], ["u64", 0], ["u32", 0], ["u32", 0]]);
    await session.dispatch(requestFrame({ opcode: OPCODE.READ, body: readIn(data.byteLength), unique: 9n }));
    expect(parts.at(-1)).toBe(2);
    const big = parseReply(replies.at(-1)!);
    expect(big).toMatchObject({ lengthBytes: 16 + data.byteLength, errno: 0, unique: 9n });
    expect(new Uint8Array(big.body.buffer, big.body.byteOffset, big.body.byteLength)).toEqual(data);
    expect(release).toBe(1);
    expect(releasedAfterReplies).toBe(replies.length);
    await session.dispatch(requestFrame({ opcode: OPCODE.READ, body: readIn(100), unique: 10n }));
    expect(parts.at(-1)).toBe(1);
    expect(parseReply(replies.at(-1)!).lengthBytes).toBe(16 + 100);
    expect(release).toBe(2);
  });

  test("FORGET and BATCH_FORGET get no reply, even when the filesystem throws", async () => {
    const forgotten: Array<[number, number]> = [];
    const h = await initialized({
      forget: (nodeid, n) => {
        forgotten.push([nodeid, n]);
        if (nodeid === 9) throw new Error("boom");
      },
    });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.FORGET, nodeid: 5, body: body([["u64", 3]]) }));
    await h.session.dispatch(requestFrame({ opcode: OPCODE.BATCH_FORGET, body: body([["u32", 2], ["u32", 0], ["u64", 6], ["u64", 1], ["u64", 9], ["u64", 2]]) }));
    expect(forgotten).toEqual([[5, 3], [6, 1], [9, 2]]);
    expect(h.replies.length).toBe(0);
  });

  test("GETXATTR probes the size with size 0 and is ERANGE when the buffer is too small", async () => {
    const h = await initialized({ getxattr: async () => new TextEncoder().encode("value") });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.GETXATTR, body: body([["u32", 0], ["u32", 0]], ["user.a"]) }));
    expect(h.last().body.getUint32(0, true)).toBe(5);
    await h.session.dispatch(requestFrame({ opcode: OPCODE.GETXATTR, body: body([["u32", 2], ["u32", 0]], ["user.a"]) }));
    expect(h.last().errno).toBe(ERRNO.ERANGE);
  });

  test("RENAME2 passes NOREPLACE/EXCHANGE and refuses other flags", async () => {
    const seen: unknown[] = [];
    const h = await initialized({ rename: async (_ctx, args) => void seen.push(args) });
    await h.session.dispatch(requestFrame({ opcode: OPCODE.RENAME2, nodeid: 3, body: body([["u64", 4], ["u32", 2], ["u32", 0]], ["a", "b"]) }));
    expect(h.last().errno).toBe(0);
    expect(seen).toEqual([{ parent: 3, name: "a", newParent: 4, newName: "b", flags: 2 }]);
    await h.session.dispatch(requestFrame({ opcode: OPCODE.RENAME2, nodeid: 3, body: body([["u64", 4], ["u32", 4], ["u32", 0]], ["a", "b"]) }));
    expect(h.last().errno).toBe(ERRNO.EINVAL);
  });

  test("SETATTR decodes only the fields `valid` names, with UTIME_NOW as 'now'", async () => {
    const seen: unknown[] = [];
    const h = await initialized({ setattr: async (_ctx, _nodeid, changes) => (seen.push(changes), { attrValidMs: 0, attr }) });
    const valid = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 7) | (1 << 5);
    const fields: Array<["u32" | "u64", number]> = [
      ["u32", valid], ["u32", 0], ["u64", 0], ["u64", 12], ["u64", 0], ["u64", 0], ["u64", 1_700_000_000], ["u64", 0],
      ["u32", 0], ["u32", 5], ["u32", 0], ["u32", 0o100600], ["u32", 0], ["u32", 77], ["u32", 88], ["u32", 0],
    ];
    await h.session.dispatch(requestFrame({ opcode: OPCODE.SETATTR, body: body(fields) }));
    expect(seen).toEqual([{ mode: 0o100600, sizeBytes: 12, atimeNs: "now", mtimeNs: 1_700_000_000_000_000_005n }]);
  });
});
