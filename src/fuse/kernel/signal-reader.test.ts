import { expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { OPCODE } from "./abi.ts";
import { sysClose, sysSetAsync, sysSocketpair, sysWrite } from "./libc.ts";
import { SignalReader } from "./signal-reader.ts";

// The reader on a unix seqpacket socket pair, which takes O_ASYNC and keeps each write one
// message, as /dev/fuse keeps each request: what is written to one end is read on the main
// thread when SIGIO says so.

function message(opcode: number, tag: number, lengthBytes = 64): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, lengthBytes, true);
  view.setUint32(4, opcode, true);
  view.setUint32(8, tag, true);
  return bytes;
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await Bun.sleep(1);
  }
}

test("each request is read as the kernel signals it, in order, and a signal drains all that wait", async () => {
  const { fds } = sysSocketpair("seqpacket");
  const [ours, theirs] = fds;
  const tags: number[] = [];
  // Requests taken in one synchronous run: a microtask ends each run.
  const runs: number[] = [];
  let inRun = false;
  const reader = new SignalReader(ours, (request, done) => {
    tags.push(new DataView(request.buffer, request.byteOffset).getUint32(8, true));
    if (!inRun) {
      inRun = true;
      runs.push(0);
      queueMicrotask(() => (inRun = false));
    }
    runs[runs.length - 1]!++;
    done();
  }, () => undefined);
  reader.start();
  try {
    for (let i = 0; i < 50; i++) {
      sysWrite(theirs, message(OPCODE.GETATTR, i));
      await until(() => tags.length === i + 1);
    }
    expect(tags).toEqual([...Array(50).keys()]);
    // Signals brought them, not the backstop poll (which would have found nearly all of them).
    expect(reader.counts.polled).toBeLessThan(10);
    // Written in one turn, their signals coalesce: the drain reads until EAGAIN, at most
    // fuseRequestsPerTurnMax in one go, the rest on later turns (nothing queued past microtasks).
    const before = tags.length;
    for (let i = 0; i < 100; i++) sysWrite(theirs, message(OPCODE.GETATTR, 100 + i));
    await until(() => tags.length === before + 100);
    expect(tags.slice(before)).toEqual([...Array(100).keys()].map((i) => 100 + i));
    expect(Math.max(...runs)).toBeLessThanOrEqual(LIMITS.fuseRequestsPerTurnMax);
    expect(runs.length).toBeGreaterThan(1);
  } finally {
    reader.stop();
    sysClose(ours);
    sysClose(theirs);
  }
});

test("a WRITE keeps the buffer it was read into until it is handled; the buffer is used again after", async () => {
  const { fds } = sysSocketpair("seqpacket");
  const [ours, theirs] = fds;
  const taken: Array<{ request: Uint8Array; done: () => void }> = [];
  const reader = new SignalReader(ours, (request, done) => taken.push({ request, done }), () => undefined);
  reader.start();
  try {
    sysWrite(theirs, message(OPCODE.WRITE, 1));
    await until(() => taken.length === 1);
    sysWrite(theirs, message(OPCODE.WRITE, 2));
    await until(() => taken.length === 2);
    const [first, second] = taken as [(typeof taken)[0], (typeof taken)[0]];
    // The first write is not handled yet: the second was read into another buffer, not over it.
    expect(second.request.buffer).not.toBe(first.request.buffer);
    expect(new DataView(first.request.buffer, first.request.byteOffset).getUint32(8, true)).toBe(1);
    first.done();
    second.done();
    // Other requests are copies of the read buffer; handled WRITEs give theirs back, so a run of
    // them cycles through the buffers already made instead of making one each.
    sysWrite(theirs, message(OPCODE.LOOKUP, 3));
    await until(() => taken.length === 3);
    expect(taken[2]!.request.byteLength).toBe(64);
    expect(taken[2]!.request.buffer.byteLength).toBe(64);
    const buffers = new Set<ArrayBufferLike>([first.request.buffer, second.request.buffer]);
    for (let i = 0; i < 20; i++) {
      sysWrite(theirs, message(OPCODE.WRITE, 10 + i));
      await until(() => taken.length === 4 + i);
      buffers.add(taken[3 + i]!.request.buffer);
      taken[3 + i]!.done();
    }
    expect(buffers.size).toBeLessThanOrEqual(3);
  } finally {
    reader.stop();
    sysClose(ours);
    sysClose(theirs);
  }
});

test("the end of the fd ends the reader; a stopped reader reads nothing more and leaves SIGIO off", async () => {
  const { fds } = sysSocketpair("seqpacket");
  const [ours, theirs] = fds;
  let closedWith: number | null = null;
  let requests = 0;
  const reader = new SignalReader(ours, (_request, done) => {
    requests++;
    done();
  }, (errno) => (closedWith = errno));
  reader.start();
  sysClose(theirs);
  await until(() => closedWith !== null);
  expect(closedWith as number | null).toBe(0);
  expect(requests).toBe(0);
  // Off again: a closed reader must not be signalled for an fd number that may be reused.
  expect(sysSetAsync(ours, false).value).toBeGreaterThanOrEqual(0);
  sysClose(ours);

  const pair = sysSocketpair("seqpacket").fds;
  let taken = 0;
  const stopped = new SignalReader(pair[0], (_request, done) => {
    taken++;
    done();
  }, () => undefined);
  stopped.start();
  stopped.stop();
  sysWrite(pair[1], message(OPCODE.GETATTR, 1));
  await Bun.sleep(120); // past a poll interval: neither a signal nor the poll reads it
  expect(taken).toBe(0);
  sysClose(pair[0]);
  sysClose(pair[1]);
});
