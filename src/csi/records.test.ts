import { describe, expect, test } from "bun:test";
import { KeyedLock } from "./records.ts";

describe("KeyedLock", () => {
  test("calls for one key run one at a time, other keys meanwhile, and a failure frees the key", async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const slow = (label: string, ms: number) => async () => {
      order.push(`${label}+`);
      await Bun.sleep(ms);
      order.push(`${label}-`);
      return label;
    };
    const failing = lock.run("a", async () => {
      throw new Error("boom");
    });
    const results = await Promise.all([lock.run("a", slow("a1", 20)), lock.run("a", slow("a2", 1)), lock.run("b", slow("b1", 5)), failing.catch((e: Error) => e.message)]);
    expect(results).toEqual(["a1", "a2", "b1", "boom"]);
    expect(order.indexOf("a1-")).toBeLessThan(order.indexOf("a2+"));
    expect(order.indexOf("b1+")).toBeLessThan(order.indexOf("a1-"));
  });
});
