import { expect, test } from "bun:test";
import { NOTIFY, SIZE } from "./abi.ts";
import { Notifier } from "./notify.ts";

function capture(minor: number | null = 31, errno = 0) {
  const queued: Uint8Array[] = [];
  const written: Uint8Array[] = [];
  const notifier = new Notifier(
    (frame) => queued.push(frame),
    () => minor,
    (frame) => (written.push(frame), errno),
  );
  return { queued, written, notifier };
}

test("a store is one NOTIFY_STORE frame written at once (node id, offset, size, then the bytes); invalidations queue", () => {
  const { queued, written, notifier } = capture();
  expect(notifier.notifyStore(42, 4096, new Uint8Array([1, 2, 3, 4, 5]))).toBe(true);
  expect(notifier.notifyInvalInode(42, 0, 0)).toBe(true);
  expect(written.length).toBe(1);
  expect(queued.length).toBe(1);
  const frame = written[0]!;
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

test("a store the kernel refused (the inode is not cached: ENOENT) reports false", () => {
  const ENOENT = 2;
  expect(capture(31, ENOENT).notifier.notifyStore(1, 0, new Uint8Array(1))).toBe(false);
});

test("no store before INIT or on a kernel older than 7.15", () => {
  expect(capture(null).notifier.notifyStore(1, 0, new Uint8Array(1))).toBe(false);
  expect(capture(14).notifier.notifyStore(1, 0, new Uint8Array(1))).toBe(false);
});
