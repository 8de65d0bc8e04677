// Floor steps shared by the metadata workloads: the same work through the bare bun:sqlite floor
// and through the echo server, measured beside each NoKV phase.
import { runConcurrent, runSync } from "../lib/run.ts";
import type { SqliteFloor } from "../floors/sqlite-floor.ts";
import type { Ctx } from "./types.ts";

/** Echo round trips carrying `args`, `inFlight` at a time: the transport cost of the same calls. */
export function echoFloor(ctx: Ctx, phase: string, calls: number, inFlight: number, args: Record<string, unknown>, itemsPerCall = 1) {
  return ctx.measure(
    { phase, system: "transport floor", name: `floor: echo, ${inFlight} in flight`, unit: "ops/s" },
    (onProgress) => runConcurrent(calls, inFlight, () => ctx.echo.call("echo", args), { itemsPerCall, onProgress }),
  );
}

export function sqliteFloor(ctx: Ctx, phase: string, name: string, calls: number, fn: (i: number) => unknown, itemsPerCall = 1) {
  return ctx.measure({ phase, system: "store floor", name: `floor: bun:sqlite, ${name}`, unit: "ops/s" }, () => runSync(calls, fn, itemsPerCall));
}

export type { SqliteFloor };
