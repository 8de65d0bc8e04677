import { describe, expect, test } from "bun:test";
import { FsError, LIMITS } from "../types/index.ts";
import { errorResponse, okResponse } from "../wire/index.ts";
import { ReadBatcher } from "./read-batcher.ts";

/** A fake metad: answers each op with its args' `n`, `n` of -1 with ENOENT; records what was sent. */
function fake() {
  const sent: Array<{ op: string; count: number }> = [];
  const answer = (args: Record<string, unknown>) => (args.n === -1 ? errorResponse(new FsError("ENOENT", "no")) : okResponse(args.n));
  const send = async (op: string, args: Record<string, unknown>): Promise<unknown> => {
    await Bun.sleep(1);
    if (op !== "batch") {
      sent.push({ op, count: 1 });
      const r = answer(args);
      if (!r.ok) throw new FsError("ENOENT", "no");
      return r.value;
    }
    const ops = args.ops as Array<{ op: string; args: Record<string, unknown> }>;
    sent.push({ op, count: ops.length });
    return ops.map((o) => answer(o.args));
  };
  return { sent, send };
}

describe("ReadBatcher", () => {
  test("a lone request goes at once, as itself", async () => {
    const { sent, send } = fake();
    const batcher = new ReadBatcher(send);
    expect(await batcher.call("stat_path", { n: 7 })).toBe(7);
    expect(sent).toEqual([{ op: "stat_path", count: 1 }]);
  });

  test("requests made while others are in flight share one batch, each with its own answer", async () => {
    const { sent, send } = fake();
    const batcher = new ReadBatcher(send);
    const first = batcher.call("stat_path", { n: 0 });
    const rest = [1, -1, 3].map((n) => batcher.call("read_plan", { n }).catch((e: FsError) => e.code));
    expect(await first).toBe(0);
    expect(await Promise.all(rest)).toEqual([1, "ENOENT", 3]);
    expect(sent).toEqual([{ op: "stat_path", count: 1 }, { op: "batch", count: 3 }]);
  });

  test("a batch never holds more than batchMaxOps requests", async () => {
    const { sent, send } = fake();
    const batcher = new ReadBatcher(send);
    const first = batcher.call("stat_path", { n: 0 });
    const many = Array.from({ length: LIMITS.batchMaxOps + 2 }, (_, n) => batcher.call("stat_path", { n }));
    await Promise.all([first, ...many]);
    expect(sent.map((s) => s.count)).toEqual([1, LIMITS.batchMaxOps, 2]);
  });

  test("a failed batch fails each request in it; a short answer is EPROTO", async () => {
    const failing = new ReadBatcher(async (op) => {
      await Bun.sleep(1);
      if (op === "batch") throw new FsError("ECONNRESET", "gone");
      return 0;
    });
    const lone = failing.call("x", {});
    const codes = await Promise.all([failing.call("x", {}), failing.call("x", {})].map((p) => p.catch((e: FsError) => e.code)));
    await lone;
    expect(codes).toEqual(["ECONNRESET", "ECONNRESET"]);
    const short = new ReadBatcher(async (op) => (op === "batch" ? [okResponse(1)] : 0));
    const lead = short.call("x", {});
    const answers = await Promise.all([short.call("x", {}), short.call("x", {})].map((p) => p.catch((e: FsError) => e.code)));
    await lead;
    expect(answers).toEqual(["EPROTO", "EPROTO"]);
  });
});
