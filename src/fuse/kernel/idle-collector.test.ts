import { describe, expect, test } from "bun:test";
import { IdleCollector } from "./idle-collector.ts";

describe("IdleCollector", () => {
  test("collects once after a burst, when a whole interval passed without a request; never while busy or already collected", () => {
    let answered = 0;
    let collected = 0;
    const idle = new IdleCollector(() => answered, () => collected++, 60_000);
    try {
      expect(idle.tick()).toBe(false); // nothing answered yet
      answered = 50;
      expect(idle.tick()).toBe(false); // busy in this interval
      answered = 90;
      expect(idle.tick()).toBe(false); // still busy
      expect(idle.tick()).toBe(true); // a quiet interval after the burst
      expect(idle.tick()).toBe(false); // quiet, but nothing new since
      answered = 91;
      expect(idle.tick()).toBe(false);
      expect(idle.tick()).toBe(true);
      expect([collected, idle.collections]).toEqual([2, 2]);
    } finally {
      idle.stop();
    }
  });
});
