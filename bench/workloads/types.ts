// What a workload is and what it reports. A workload measures NoKV over the real RPC and, in the
// same run, its floors (bare bun:sqlite, the transport echo, node:fs) and the peer (AgentFS).
import type { NoKVClient } from "../../src/sdk/index.ts";
import type { RpcClient } from "../../src/sdk/rpc-client.ts";
import type { Profile } from "../lib/profiles.ts";
import type { RunResult } from "../lib/run.ts";
import type { AgentFsPeer } from "../peers/agentfs.ts";

export type System = "nokv" | "store floor" | "transport floor" | "peer";
export type Unit = "ops/s" | "MB/s" | "samples/s" | "entries/s" | "bytes/file" | "ms";

export interface Measurement {
  workload: string;
  /** The operation measured within the workload ("create, batched"). */
  phase: string;
  system: System;
  /** Who ran it: "NoKV", "floor: bun:sqlite, 1 create per tx", "AgentFS (agentfs-sdk 0.6.4)". */
  name: string;
  unit: Unit;
  /** Higher is better, except bytes/file and ms (a time, e.g. failover). */
  rate: number;
  /** Per operation (per call for batches, per checkpoint for publishes). */
  p50Us: number | null;
  p99Us: number | null;
  /** Items measured. */
  count: number;
  note?: string;
  /** Why this row has no figures. */
  unavailable?: string;
}

export interface Ctx {
  profile: Profile;
  url: string;
  /** A client on its own connection; the harness closes it. */
  client: NoKVClient;
  connect(options?: { cacheBytes?: number; verifyChecksums?: boolean }): Promise<NoKVClient>;
  /** The transport floor: an RpcClient to the echo server. */
  echo: RpcClient;
  /**
   * `n` connections to the echo server, each its own socket (opened once per run): the floor of
   * `n` clients one request in flight each, where `echo` alone would let replies share writes.
   */
  echoConnections(n: number): RpcClient[];
  /** A scratch directory on the same disk as metad's data, for floors and peers. */
  scratchDir: string;
  /** A fresh AgentFS database, or why there is none. */
  openPeer(name: string): Promise<AgentFsPeer | { unavailable: string }>;
  /** Runs one measured step with progress shown, and records its row. */
  measure(row: Omit<Measurement, "rate" | "p50Us" | "p99Us" | "count" | "workload">, run: (onProgress: (done: number, total: number) => void) => Promise<RunResult> | RunResult, options?: { rate?: (r: RunResult) => number }): Promise<RunResult>;
  /** Records a row measured some other way (footprint) or an unavailable one. */
  record(row: Omit<Measurement, "workload">): void;
  /** Untimed preparation shown as a progress step. */
  prepare<T>(label: string, run: (onProgress: (done: number, total: number) => void) => Promise<T>): Promise<T>;
}

export interface Workload {
  name: string;
  description: string;
  run(ctx: Ctx): Promise<void>;
}

export function peerLabel(peer: AgentFsPeer | { unavailable: string }): string {
  return "label" in peer ? peer.label : "AgentFS (agentfs-sdk)";
}
