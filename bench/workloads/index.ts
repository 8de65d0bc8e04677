import { agentMixWorkload } from "./agent-mix.ts";
import { checkpointWorkload, trainingWorkload } from "./bodies.ts";
import { failoverWorkload } from "./failover.ts";
import { footprintWorkload } from "./footprint.ts";
import { mdtestEasy, mdtestHard } from "./mdtest.ts";
import { readdirWorkload, renameWorkload, statStormWorkload } from "./namespace.ts";
import type { Workload } from "./types.ts";

/** Every workload, in the order `bun run bench` runs them. */
export const WORKLOADS: Workload[] = [
  mdtestEasy, mdtestHard, statStormWorkload, readdirWorkload, renameWorkload, agentMixWorkload, checkpointWorkload, trainingWorkload, footprintWorkload, failoverWorkload,
];
