import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FsError, setUnexpectedErrorLogger } from "../types/errno.ts";
import { decodePayload, encodeValueFrame } from "./codec.ts";
import { FLAG_ERROR, FLAG_PUSH, FLAG_RESPONSE, FrameDecoder, FrameError } from "./frame.ts";
import {
  errorResponse,
  errorToWire,
  okResponse,
  parsePush,
  parseRequest,
  parseResponse,
  responseFlags,
  wireToError,
  type WireRequest,
} from "./messages.ts";
import { codeOf } from "./testing.ts";

let restoreLogger: ((err: unknown) => void) | undefined;
const unexpected: unknown[] = [];
beforeAll(() => {
  restoreLogger = setUnexpectedErrorLogger((err) => unexpected.push(err));
});
afterAll(() => {
  if (restoreLogger) setUnexpectedErrorLogger(restoreLogger);
});

/** What a client sees: the error, across encode, frame, decode and parse. */
function acrossTheWire(err: unknown): FsError {
  const decoder = new FrameDecoder();
  const sent = errorResponse(err);
  decoder.push(encodeValueFrame(9, responseFlags(sent), sent));
  const frame = decoder.next()!;
  expect(frame.flags).toBe(FLAG_RESPONSE | FLAG_ERROR);
  const response = parseResponse(decodePayload(frame.payload));
  if (response.ok) throw new Error("expected an error response");
  return wireToError(response.error);
}

describe("errors on the wire", () => {
  test("an FsError keeps code, message, path and syscall", () => {
    const original = new FsError("ENOENT", "lookup 'x' in 1", { syscall: "lookup", path: "/a/x" });
    const back = acrossTheWire(original);
    expect(back).toBeInstanceOf(FsError);
    expect(back.code).toBe("ENOENT");
    expect(back.errno).toBe(-2);
    expect(back.message).toBe(original.message);
    expect(back.detail).toBe("lookup 'x' in 1");
    expect(back.path).toBe("/a/x");
    expect(back.syscall).toBe("lookup");
  });

  test("an FsError without detail comes back without detail", () => {
    const back = acrossTheWire(new FsError("EEXIST"));
    expect(back.message).toBe("EEXIST: file already exists");
    expect(back.detail).toBe("");
  });

  test("a FrameError keeps its code; a node-style error keeps a known code; anything else is EIO", () => {
    expect(errorToWire(new FrameError("EPROTO", "bad msgpack payload")).code).toBe("EPROTO");
    expect(errorToWire(Object.assign(new Error("disk full"), { code: "ENOSPC" })).code).toBe("ENOSPC");
    const before = unexpected.length;
    const wire = errorToWire(new TypeError("x is undefined"));
    expect(wire).toEqual({ code: "EIO", message: "EIO: i/o error, x is undefined" });
    expect(unexpected.length).toBe(before + 1);
  });

  test("a malformed error reply is EPROTO; an errno unknown here is EIO with the peer's words", () => {
    expect(wireToError("boom").code).toBe("EPROTO");
    expect(wireToError({ code: "ENOENT" }).code).toBe("EPROTO");
    const unknown = wireToError({ code: "EHWPOISON", message: "memory page has hardware error" });
    expect(unknown.code).toBe("EIO");
    expect(unknown.message).toContain("EHWPOISON");
    expect(unknown.message).toContain("memory page has hardware error");
    // A message not in our "CODE: text, detail" form is kept whole as the detail.
    expect(wireToError({ code: "EBUSY", message: "held by writer 3" }).detail).toBe("held by writer 3");
  });
});

describe("envelopes", () => {
  test("parseRequest accepts op and args, with or without requestKey", () => {
    const request: WireRequest = { op: "getattr", args: { inode: 2 } };
    expect(parseRequest(decodePayload(encodeValueFrame(1, 0, request).subarray(16)))).toEqual(request);
    expect(parseRequest({ ...request, requestKey: "c1-77" })).toEqual({ ...request, requestKey: "c1-77" });
    expect(parseRequest({ ...request, requestKey: null })).toEqual(request);
  });

  test("parseRequest refuses bad envelopes with EPROTO naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [[1, 2], /request must be a map, got array/],
      [{ args: {} }, /request\.op must be a string of 1\.\.64 bytes, got undefined/],
      [{ op: "", args: {} }, /request\.op/],
      [{ op: "x".repeat(65), args: {} }, /request\.op/],
      [{ op: "lookup", args: [] }, /request\.args must be a map, got array/],
      [{ op: "lookup" }, /request\.args must be a map, got undefined/],
      [{ op: "lookup", args: {}, requestKey: 7 }, /request\.requestKey must be a string of 1\.\.128 bytes, got number 7/],
      [{ op: "lookup", args: {}, requestKey: "k".repeat(129) }, /request\.requestKey/],
    ];
    for (const [value, message] of cases) {
      expect(codeOf(() => parseRequest(value))).toBe("EPROTO");
      expect(() => parseRequest(value)).toThrow(message);
    }
  });

  test("parseResponse passes values through and normalizes errors", () => {
    expect(responseFlags(okResponse(1))).toBe(FLAG_RESPONSE);
    expect(parseResponse(okResponse({ inode: 5 }))).toEqual({ ok: true, value: { inode: 5 } });
    expect(parseResponse({ ok: true })).toEqual({ ok: true, value: undefined });
    const failed = parseResponse({ ok: false, error: { code: "ENOTDIR", message: "ENOTDIR: not a directory" } });
    expect(failed).toEqual({ ok: false, error: { code: "ENOTDIR", message: "ENOTDIR: not a directory" } });
    expect(parseResponse({ ok: false, error: 3 })).toMatchObject({ ok: false, error: { code: "EPROTO" } });
    expect(codeOf(() => parseResponse({ value: 1 }))).toBe("EPROTO");
  });

  test("parsePush checks kind, subscription and events", () => {
    const push = { kind: "watch", subscription: 3, events: [] };
    const decoder = new FrameDecoder();
    decoder.push(encodeValueFrame(3, FLAG_PUSH, push));
    const frame = decoder.next()!;
    expect(frame.requestId).toBe(3);
    expect(parsePush(decodePayload(frame.payload))).toEqual(push as never);
    expect(codeOf(() => parsePush({ ...push, kind: "other" }))).toBe("EPROTO");
    expect(codeOf(() => parsePush({ ...push, subscription: 0 }))).toBe("EPROTO");
    expect(codeOf(() => parsePush({ ...push, events: {} }))).toBe("EPROTO");
  });
});
