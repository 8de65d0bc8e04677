import { expect, test } from "bun:test";
import { Histogram } from "./histogram.ts";

test("quantiles land within a bucket of the truth", () => {
  const h = new Histogram();
  for (let i = 1; i <= 10_000; i++) h.record(i);
  const s = h.summary();
  expect(s.count).toBe(10_000);
  expect(s.mean).toBeCloseTo(5000.5, 5);
  expect(s.p50).toBeGreaterThanOrEqual(5000);
  expect(s.p50).toBeLessThanOrEqual(5000 * 1.125);
  expect(s.p99).toBeGreaterThanOrEqual(9900);
  expect(s.p99).toBeLessThanOrEqual(10_000);
  expect(s.max).toBe(10_000);
});

test("an empty histogram reports zeros and tiny values count as 1", () => {
  const h = new Histogram();
  expect(h.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  h.record(0.2);
  expect(h.quantile(0.5)).toBeLessThanOrEqual(1);
});

test("counts below powers of two are exact at each power", () => {
  const h = new Histogram();
  for (const v of [0.5, 1, 3, 4, 7.9, 8, 100, 1_000_000]) h.record(v);
  // below 2^0=1: none (values under 1 count as 1); below 2^2=4: 0.5, 1, 3; below 2^3=8: +4, 7.9
  expect(h.countsBelowPowersOfTwo(0, 3)).toEqual([0, 2, 3, 5]);
  expect(h.countsBelowPowersOfTwo(20, 20)).toEqual([8]);
  expect(h.countsBelowPowersOfTwo(7, 7)).toEqual([7]);
});
