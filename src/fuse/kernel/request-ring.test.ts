import { describe, expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { OPCODE } from "./abi.ts";
import { newRingMemory, RingConsumer, RingProducer } from "./request-ring.ts";

/** A request frame: fuse_in_header's length and opcode, then `fill` bytes. */
function request(opcode: number, fill: number, lengthBytes = 64): Uint8Array {
  const bytes = new Uint8Array(lengthBytes).fill(fill);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, lengthBytes, true);
  view.setUint32(4, opcode, true);
  return bytes;
}

describe("request ring", () => {
  test("requests arrive in order as copies; a WRITE's buffer is reused only after its handler is done", async () => {
    const memory = newRingMemory(4, 4096);
    const producer = new RingProducer(memory);
    const consumer = new RingConsumer(memory);
    const taken: Array<{ request: Uint8Array; done: () => void }> = [];
    const running = consumer.run((request, done) => taken.push({ request, done }));
    const send = (bytes: Uint8Array) => {
      producer.nextSlot().set(bytes);
      producer.commit(bytes.byteLength);
    };
    const settle = async (count: number) => {
      while (taken.length < count) await Bun.sleep(1);
    };

    send(request(OPCODE.WRITE, 1));
    send(request(OPCODE.LOOKUP, 2));
    await settle(2);
    const [write1, lookup] = taken;
    // Both slots are overwritten by later requests; what was taken stays as it was.
    send(request(OPCODE.WRITE, 3));
    send(request(OPCODE.WRITE, 4));
    await settle(4);
    expect(write1!.request[8]).toBe(1);
    expect(lookup!.request[8]).toBe(2);
    // A WRITE still being handled keeps its buffer: the next ones got buffers of their own.
    expect(taken[2]!.request.buffer).not.toBe(write1!.request.buffer);
    write1!.done();
    send(request(OPCODE.WRITE, 5));
    await settle(5);
    expect(taken[4]!.request.buffer).toBe(write1!.request.buffer);
    expect(taken[4]!.request[8]).toBe(5);
    expect(taken[4]!.request.byteLength).toBe(64);
    consumer.stop();
    await running;
  });

  test("spare WRITE buffers past the limit are left to the collector", async () => {
    const memory = newRingMemory(2, 256);
    const producer = new RingProducer(memory);
    const consumer = new RingConsumer(memory);
    const buffers = new Set<ArrayBufferLike>();
    const count = LIMITS.fuseWriteRequestBuffersKept + 4;
    const held: Array<() => void> = [];
    let seen = 0;
    const running = consumer.run((request, done) => {
      buffers.add(request.buffer);
      held.push(done);
      seen++;
    });
    for (let i = 0; i < count; i++) {
      producer.nextSlot().set(request(OPCODE.WRITE, i));
      producer.commit(64);
      while (seen <= i) await Bun.sleep(1);
    }
    expect(buffers.size).toBe(count);
    for (const done of held) done();
    held.length = 0;
    const firstRound = new Set(buffers);
    buffers.clear();
    for (let i = 0; i < count; i++) {
      producer.nextSlot().set(request(OPCODE.WRITE, i));
      producer.commit(64);
      while (seen <= count + i) await Bun.sleep(1);
    }
    // Held again all at once: the kept spares first, then fresh ones.
    expect([...buffers].filter((b) => firstRound.has(b)).length).toBe(LIMITS.fuseWriteRequestBuffersKept);
    consumer.stop();
    await running;
  });
});
