import { expect, test } from "bun:test";
import { LIMITS } from "../types/index.ts";
import { Logger, parseLogFormat } from "./log.ts";

function capture(format: "text" | "json", nowMs = () => 1_700_000_000_000) {
  const lines: string[] = [];
  return { lines, log: new Logger(format, (line) => void lines.push(line), nowMs) };
}

test("json lines carry time, level, event, message and the event's fields", () => {
  const { lines, log } = capture("json");
  log.authFailure({ remote: "10.0.0.7:5123", via: "rpc", reason: "wrong token" });
  log.gcError({ failures: 3, lastError: "EACCES: permission denied" });
  const [auth, gc] = lines.map((l) => JSON.parse(l));
  expect(auth).toEqual({ time: "2023-11-14T22:13:20.000Z", level: "warn", event: "auth_failure", msg: "authentication failed over rpc from 10.0.0.7:5123", remote: "10.0.0.7:5123", via: "rpc", reason: "wrong token" });
  expect(gc).toMatchObject({ level: "error", event: "gc_error", failures: 3, lastError: "EACCES: permission denied" });
  for (const line of lines) expect(line.endsWith("\n") && !line.slice(0, -1).includes("\n")).toBe(true);
});

test("text lines read as sentences with the fields after", () => {
  const { lines, log } = capture("text");
  log.slowOp("readdir_plus", 312_500, false);
  expect(lines[0]).toBe('metad: warn: slow readdir_plus: 312.5 ms (op="readdir_plus" latencyMs=312.5 thresholdMs=250 failed=false)\n');
});

test("slow-op lines are rate-limited per second and say how many were left out", () => {
  let now = 0;
  const { lines, log } = capture("json", () => now);
  for (let i = 0; i < LIMITS.slowOpLogMaxPerSecond + 5; i++) log.slowOp("lookup", 300_000, false);
  expect(lines).toHaveLength(LIMITS.slowOpLogMaxPerSecond);
  now = 1_000;
  log.slowOp("lookup", 300_000, true);
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: "slow_op", op: "lookup", failed: true, suppressedBefore: 5 });
});

test("log formats parse by name", () => {
  expect(parseLogFormat("json")).toBe("json");
  expect(parseLogFormat("text")).toBe("text");
  expect(parseLogFormat("yaml")).toBeNull();
});
