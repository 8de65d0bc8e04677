import { describe, expect, test } from "bun:test";
import { FsError } from "../types/index.ts";
import { ByteChannel } from "./write-stream.ts";

const bytes = (n: number) => new Uint8Array(n);

describe("ByteChannel", () => {
  test("delivers chunks in order and ends", async () => {
    const channel = new ByteChannel(100);
    void channel.push(new Uint8Array([1])).then(() => channel.push(new Uint8Array([2]))).then(() => channel.end());
    const seen: number[] = [];
    for await (const chunk of channel) seen.push(chunk[0]!);
    expect(seen).toEqual([1, 2]);
  });

  test("a push waits while the queue is at its limit, and resumes once the consumer takes some", async () => {
    const channel = new ByteChannel(10);
    let settled = false;
    const push = channel.push(bytes(10)).then(() => (settled = true));
    await Bun.sleep(5);
    expect(settled).toBe(false);
    const reader = channel[Symbol.asyncIterator]();
    await reader.next();
    await push;
    expect(settled).toBe(true);
  });

  test("a failure reaches the consumer and every waiting writer; a consumer that stops fails the writers", async () => {
    const channel = new ByteChannel(10);
    const waiting = channel.push(bytes(10)).catch((e: FsError) => e.code);
    channel.fail(new FsError("EIO", "gone"));
    expect(await waiting).toBe("EIO");
    await expect(channel[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "EIO" });

    const stopped = new ByteChannel(10);
    const blocked = stopped.push(bytes(10)).then(() => stopped.push(bytes(10))).catch((e: FsError) => e.code);
    for await (const _ of stopped) break;
    expect(await blocked).toBe("EIO");
    await expect(stopped.push(bytes(1))).rejects.toMatchObject({ code: "EIO" });
  });

  test("a write after end is EINVAL", async () => {
    const channel = new ByteChannel(10);
    channel.end();
    await expect(channel.push(bytes(1))).rejects.toMatchObject({ code: "EINVAL" });
  });
});
