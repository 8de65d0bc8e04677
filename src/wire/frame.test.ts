import { describe, expect, test } from "bun:test";
import {
  CONNECTION_MAGIC,
  FLAG_ERROR,
  FLAG_PUSH,
  FLAG_RESPONSE,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameError,
  encodeFrame,
  matchConnectionMagic,
  writeFrameHeader,
  type Frame,
} from "./frame.ts";
import { LIMITS } from "../types/limits.ts";
import { codeOf, randomBytes, randomInt, seededRandom } from "./testing.ts";

function header(idHigh: number, idLow: number, flags: number, payloadBytes: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, idHigh);
  view.setUint32(4, idLow);
  view.setUint32(8, flags);
  view.setUint32(12, payloadBytes);
  return bytes;
}

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (const frame of decoder) frames.push(frame);
  }
  return frames;
}

describe("connection magic", () => {
  test("is NKVRPC1\\n and sniffs partial, matching and foreign starts", () => {
    expect(new TextDecoder().decode(CONNECTION_MAGIC)).toBe("NKVRPC1\n");
    expect(matchConnectionMagic(CONNECTION_MAGIC)).toBe("rpc");
    expect(matchConnectionMagic(CONNECTION_MAGIC.subarray(0, 3))).toBe("short");
    expect(matchConnectionMagic(new Uint8Array(0))).toBe("short");
    expect(matchConnectionMagic(new TextEncoder().encode("GET /healthz HTTP/1.1\r\n"))).toBe("other");
    expect(matchConnectionMagic(new TextEncoder().encode("NKX"))).toBe("other");
  });
});

describe("encodeFrame", () => {
  test("writes request id u64 BE, flags u32 BE, payload length u32 BE, then the payload", () => {
    const frame = encodeFrame(0x0102_0304_0506, FLAG_RESPONSE | FLAG_ERROR, new Uint8Array([9, 8, 7]));
    expect([...frame]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 3, 0, 0, 0, 3, 9, 8, 7]);
  });

  test("refuses request ids outside [0, 2^53) and unknown flags as programmer errors", () => {
    const empty = new Uint8Array(0);
    expect(() => encodeFrame(2 ** 53, 0, empty)).toThrow(RangeError);
    expect(() => encodeFrame(-1, 0, empty)).toThrow(RangeError);
    expect(() => encodeFrame(1.5, 0, empty)).toThrow(RangeError);
    expect(() => encodeFrame(1, 0x8, empty)).toThrow(RangeError);
  });

  test("refuses a payload above frameMaxBytes with EFBIG before writing it", () => {
    const target = new Uint8Array(FRAME_HEADER_BYTES);
    const write = () => writeFrameHeader(target, 0, { requestId: 1, flags: 0, payloadBytes: LIMITS.frameMaxBytes + 1 });
    expect(write).toThrow(FrameError);
    expect(codeOf(write)).toBe("EFBIG");
    expect(codeOf(() => writeFrameHeader(target, 0, { requestId: 1, flags: 0, payloadBytes: LIMITS.frameMaxBytes }))).toBe("none");
  });
});

describe("FrameDecoder", () => {
  test("round-trips ids near 2^53 and an empty payload", () => {
    const ids = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];
    const decoder = new FrameDecoder();
    for (const id of ids) {
      decoder.push(encodeFrame(id, FLAG_PUSH, new Uint8Array(0)));
      const frame = decoder.next()!;
      expect(frame.requestId).toBe(id);
      expect(frame.flags).toBe(FLAG_PUSH);
      expect(frame.payload.length).toBe(0);
    }
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("a stream of 1,000 random frames in random chunk sizes comes back exactly", () => {
    const random = seededRandom(7);
    const sent: Frame[] = [];
    for (let i = 0; i < 1_000; i++) {
      const size = random() < 0.05 ? randomInt(random, 70_000) : randomInt(random, 300);
      const flags = [0, FLAG_RESPONSE, FLAG_RESPONSE | FLAG_ERROR, FLAG_PUSH][randomInt(random, 4)]!;
      const requestId = randomInt(random, 2 ** 21) * 2 ** 32 + randomInt(random, 2 ** 32);
      sent.push({ requestId, flags, payload: randomBytes(random, size) });
    }
    const stream = Buffer.concat(sent.map((f) => encodeFrame(f.requestId, f.flags, f.payload)));
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; ) {
      const size = 1 + randomInt(random, random() < 0.3 ? 20 : 20_000);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    const decoder = new FrameDecoder();
    const received = decodeAll(decoder, chunks);
    expect(received.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) {
      expect(received[i]!.requestId).toBe(sent[i]!.requestId);
      expect(received[i]!.flags).toBe(sent[i]!.flags);
      expect(Buffer.from(received[i]!.payload).equals(sent[i]!.payload)).toBe(true);
    }
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("many frames in one chunk, and one frame one byte at a time", () => {
    const frames = Array.from({ length: 50 }, (_, i) => encodeFrame(i + 1, 0, new Uint8Array([i, i, i])));
    expect(decodeAll(new FrameDecoder(), [Buffer.concat(frames)]).map((f) => f.requestId)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const one = encodeFrame(42, FLAG_RESPONSE, randomBytes(seededRandom(1), 1_000));
    const bytes = Array.from(one, (b) => new Uint8Array([b]));
    const [frame] = decodeAll(new FrameDecoder(), bytes);
    expect(Buffer.from(frame!.payload).equals(one.subarray(FRAME_HEADER_BYTES))).toBe(true);
  });

  test("an oversize header is refused as soon as it arrives, before any payload", () => {
    const decoder = new FrameDecoder();
    const push = () => decoder.push(header(0, 1, 0, LIMITS.frameMaxBytes + 1));
    expect(push).toThrow(FrameError);
    expect(decoder.bufferedBytes).toBe(0);
    // Failed for good: the stream has no frame boundary left to resync on.
    expect(codeOf(() => decoder.push(new Uint8Array([1])))).toBe("EPROTO");
    expect(codeOf(() => decoder.next())).toBe("EPROTO");
  });

  test("an oversize header split across chunks, after a good frame, is refused when complete", () => {
    const decoder = new FrameDecoder({ frameMaxBytes: 100 });
    const bad = header(0, 2, 0, 101);
    decoder.push(Buffer.concat([encodeFrame(1, 0, new Uint8Array(100)), bad.subarray(0, 10)]));
    expect(decoder.next()!.requestId).toBe(1);
    expect(decoder.next()).toBeUndefined();
    expect(codeOf(() => decoder.push(bad.subarray(10)))).toBe("EPROTO");
  });

  test("refuses request ids of 2^53 and above, and unknown flag bits", () => {
    expect(codeOf(() => new FrameDecoder().push(header(2 ** 21, 0, 0, 0)))).toBe("EPROTO");
    expect(codeOf(() => new FrameDecoder().push(header(0xffff_ffff, 0xffff_ffff, 0, 0)))).toBe("EPROTO");
    expect(codeOf(() => new FrameDecoder().push(header(0, 1, 0x10, 0)))).toBe("EPROTO");
    expect(new FrameDecoder().next()).toBeUndefined();
  });

  test("refuses to buffer more than bufferMaxBytes of unread frames", () => {
    const decoder = new FrameDecoder({ bufferMaxBytes: 1_000 });
    const frame = encodeFrame(1, 0, new Uint8Array(300));
    decoder.push(frame);
    decoder.push(frame);
    decoder.push(frame);
    expect(decoder.bufferedBytes).toBe(3 * 316 - 16);
    expect(codeOf(() => decoder.push(frame))).toBe("EPROTO");
  });

  test("a payload inside one chunk is a view of it; a split one is a fresh copy", () => {
    const chunk = encodeFrame(1, 0, new Uint8Array([1, 2, 3]));
    const decoder = new FrameDecoder();
    decoder.push(chunk);
    expect(decoder.next()!.payload.buffer).toBe(chunk.buffer);
    const split = encodeFrame(2, 0, new Uint8Array([4, 5, 6]));
    decoder.push(split.subarray(0, 17));
    decoder.push(split.subarray(17));
    const payload = decoder.next()!.payload;
    expect(payload.buffer).not.toBe(split.buffer);
    expect([...payload]).toEqual([4, 5, 6]);
  });
});
