// Floor steps shared by the metadata workloads: the same work through the bare bun:sqlite floor
// and through the echo server, measured beside each NoKV phase.
import { runConcurrent, runSync } from "../lib/run.ts";
import type { SqliteFloor } from "../floors/sqlite-floor.ts";
import type { RpcClient } from "../../src/sdk/rpc-client.ts";
import type { Ctx } from "./types.ts";

/**
 * Echo round trips carrying `args`, `inFlight` at a time: the transport cost of the same calls.
 * With `connections`, call i goes over connection i % n, as NoKV's call i goes from client i % n:
 * a workload of n clients, each its own socket, is compared with n sockets, not one.
 */
export function echoFloor(ctx: Ctx, phase: string, calls: number, inFlight: number, args: Record<string, unknown>, itemsPerCall = 1, connections?: RpcClient[]) {
  const over = connections ? ` over ${connections.length} connections` : "";
  return ctx.measure(
    { phase, system: "transport floor", name: `floor: echo, ${inFlight} in flight${over}`, unit: "ops/s" },
    (onProgress) => runConcurrent(calls, inFlight, (i) => (connections ? connections[i % connections.length]! : ctx.echo).call("echo", args), { itemsPerCall, onProgress }),
  );
}

export function sqliteFloor(ctx: Ctx, phase: string, name: string, calls: number, fn: (i: number) => unknown, itemsPerCall = 1) {
  return ctx.measure({ phase, system: "store floor", name: `floor: bun:sqlite, ${name}`, unit: "ops/s" }, () => runSync(calls, fn, itemsPerCall));
}

export type { SqliteFloor };
