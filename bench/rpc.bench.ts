// The metadata workloads over the RPC (metad in its own process, the SDK here) beside the echo
// and bun:sqlite floors and AgentFS: the namespace part of `bun run bench`.
// `bun bench/rpc.bench.ts [--profile smoke|standard|long]`.
import { main } from "./main.ts";

await main(["--workload", "mdtest-easy,mdtest-hard,stat-storm,readdir,rename-storm,agent-mix", ...process.argv.slice(2)]);
