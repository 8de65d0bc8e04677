// The one benchmark command: `bun run bench [--profile smoke|standard|long] [--workload NAME]...`.
// Starts its own metad on a temporary directory, runs each workload beside its floors and the
// AgentFS peer, prints one table and writes it as JSON and CSV under bench/results/.
import { join } from "node:path";
import { runHarness } from "./lib/harness.ts";
import { PROFILES, type Profile } from "./lib/profiles.ts";
import { environment, writeResults } from "./lib/results.ts";
import { printTable } from "./lib/table.ts";
import { WORKLOADS } from "./workloads/index.ts";

const USAGE = `usage: bun run bench [--profile smoke|standard|long] [--workload NAME[,NAME]]... [--cold] [--list]
  --cold  no untimed warm-up before the first workload: the first rows measure a cold start
workloads:
${WORKLOADS.map((w) => `  ${w.name.padEnd(18)} ${w.description}`).join("\n")}`;

function parseArgs(argv: string[]): { profile: Profile; names: string[]; cold: boolean } {
  let profile: Profile = PROFILES.smoke;
  let cold = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--profile") {
      const name = value();
      profile = PROFILES[name as Profile["name"]] ?? fail(`unknown profile '${name}'`);
    } else if (flag === "--workload") names.push(...value().split(",").filter(Boolean));
    else if (flag === "--cold") cold = true;
    else if (flag === "--list" || flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument '${arg}'`);
  }
  for (const name of names) if (!WORKLOADS.some((w) => w.name === name)) fail(`unknown workload '${name}'`);
  return { profile, names, cold };
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<void> {
  const { profile, names, cold } = parseArgs(argv);
  const selected = names.length === 0 ? WORKLOADS : WORKLOADS.filter((w) => names.includes(w.name));
  const root = join(import.meta.dir, "..");
  const env = environment(root);
  process.stderr.write(`bench: profile ${profile.name}, ${selected.length} workloads, ${env.machine.cpus} cpus, load ${env.machine.loadAverage1m.toFixed(2)}, bun ${env.bunVersion}\n`);
  const result = await runHarness(profile, selected, { cold });
  const { gitCommit, gitDirty, machine, bunVersion } = env;
  const title = `NoKV bench, profile ${profile.name} — commit ${gitCommit.slice(0, 12)}${gitDirty ? "+dirty" : ""}, bun ${bunVersion}, ${machine.cpus} cpus, ` +
    `${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${machine.os}, load at start ${machine.loadAverage1m.toFixed(2)}, ${cold ? "cold start" : "after an untimed warm-up"}, ${(result.elapsedMs / 1000).toFixed(0)} s`;
  printTable(title, result.rows);
  const files = writeResults(join(import.meta.dir, "results"), { profile: profile.name, env, elapsedMs: result.elapsedMs, workloads: selected.map((w) => w.name), warmUp: !cold, server: result.server }, result.rows);
  console.log(`\nresults: ${files.json}\n         ${files.csv}`);
}

if (import.meta.main) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    console.error("bench failed:", err);
    process.exit(1);
  }
}
