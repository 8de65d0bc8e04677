import { describe, expect, test } from "bun:test";
import type { ReadPlan, ReadRange } from "../types/index.ts";
import { ReadPlans } from "./read-plans.ts";

const range = (key: string, outputOffset: number, lengthBytes: number, objectOffset = 0): ReadRange => ({ key, objectOffset, lengthBytes, outputOffset });

describe("ReadPlans", () => {
  test("cuts reads from a plan asked at an offset, holes included, and only of its inode and generation", () => {
    const plans = new ReadPlans(100);
    // Asked at 50: [50, 150) of a 1,000-byte body, a hole at [80, 100).
    const plan: ReadPlan = { inode: 7, generation: 3, sizeBytes: 1000, lengthBytes: 100, ranges: [range("a", 0, 30, 50), range("b", 50, 50)] };
    plans.keep(7, 50, plan);
    expect(plans.cut(7, 3, 70, 40)).toEqual({ sizeBytes: 1000, ranges: [range("a", 0, 10, 70), range("b", 30, 10)] });
    expect(plans.cut(7, 3, 140, 10)).toEqual({ sizeBytes: 1000, ranges: [range("b", 0, 10, 40)] });
    expect(plans.cut(7, 3, 40, 20)).toBeNull();
    expect(plans.cut(7, 3, 140, 20)).toBeNull();
    expect(plans.cut(7, 4, 70, 10)).toBeNull();
    expect(plans.cut(8, 3, 70, 10)).toBeNull();
    expect([plans.covers(3, 70, 40), plans.covers(3, 140, 20), plans.covers(4, 70, 10)]).toEqual([true, false, false]);
    plans.drop();
    expect(plans.covers(3, 70, 10)).toBe(false);
    expect(plans.cut(7, 3, 70, 10)).toBeNull();
  });

  test("a plan metad stopped early covers up to where it says to go on; one reaching the end covers reads past it", () => {
    const plans = new ReadPlans(1000);
    plans.keep(7, 0, { inode: 7, generation: 1, sizeBytes: 500, lengthBytes: 200, nextOffsetBytes: 200, ranges: [range("a", 0, 200)] });
    expect(plans.cut(7, 1, 150, 50)?.ranges).toEqual([range("a", 0, 50, 150)]);
    expect(plans.cut(7, 1, 150, 60)).toBeNull();
    plans.keep(7, 200, { inode: 7, generation: 1, sizeBytes: 500, lengthBytes: 300, ranges: [range("b", 0, 300)] });
    expect(plans.cut(7, 1, 450, 100)?.ranges).toEqual([range("b", 0, 50, 250)]);
    expect(plans.cut(7, 1, 600, 10)).toEqual({ sizeBytes: 500, ranges: [] });
  });
});
