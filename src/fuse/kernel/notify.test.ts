import { expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { NOTIFY, SIZE } from "./abi.ts";
import { Notifier } from "./notify.ts";

function capture(minor: number | null = 31) {
  const frames: Uint8Array[] = [];
  const notifier = new Notifier((frame) => frames.push(frame), () => minor);
  return { frames, notifier };
}

test("a store is one NOTIFY_STORE frame: node id, offset, size, then the bytes", () => {
  const { frames, notifier } = capture();
  const bytes = new Uint8Array([1, 2, 3, 4, 5]);
  expect(notifier.notifyStore(42, 4096, bytes)).toBe(true);
  const frame = frames[0]!;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  expect(v.getUint32(0, true)).toBe(frame.byteLength);
  expect(v.getInt32(4, true)).toBe(NOTIFY.STORE);
  expect(v.getBigUint64(8, true)).toBe(0n); // unique 0: a notification, not a reply
  const body = SIZE.outHeader;
  expect(v.getBigUint64(body, true)).toBe(42n);
  expect(v.getBigUint64(body + 8, true)).toBe(4096n);
  expect(v.getUint32(body + 16, true)).toBe(5);
  expect([...frame.subarray(body + SIZE.notifyStore)]).toEqual([1, 2, 3, 4, 5]);
});

test("stores wait for the kernel within fuseNotifyStoreQueuedMaxBytes; invalidations are not held back by them", () => {
  const { frames, notifier } = capture();
  const piece = new Uint8Array(LIMITS.fuseNotifyStoreQueuedMaxBytes / 4);
  for (let i = 0; i < 4; i++) expect(notifier.notifyStore(10 + i, 0, piece)).toBe(true);
  expect(notifier.notifyStore(20, 0, new Uint8Array(1))).toBe(false);
  expect(notifier.notifyInvalInode(20, 0, 0)).toBe(true);
  // The first store was written: its bytes are free again, and the invalidation's ack frees none.
  notifier.written();
  expect(notifier.notifyStore(21, 0, piece)).toBe(true);
  expect(notifier.notifyStore(22, 0, new Uint8Array(1))).toBe(false);
  for (let i = 0; i < 6; i++) notifier.written();
  expect(notifier.notifyStore(23, 0, new Uint8Array(LIMITS.fuseNotifyStoreQueuedMaxBytes))).toBe(true);
  expect(frames.length).toBe(7);
});

test("no store before INIT or on a kernel older than 7.15", () => {
  expect(capture(null).notifier.notifyStore(1, 0, new Uint8Array(1))).toBe(false);
  expect(capture(14).notifier.notifyStore(1, 0, new Uint8Array(1))).toBe(false);
});
