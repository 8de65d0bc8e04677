// In-process metadata core micro benchmarks beside the bare bun:sqlite floor (bench/micro/core.ts).
// `bun bench/core.bench.ts [--json]`.
import { run } from "mitata";
import { printRows, rowsFrom } from "./lib/report.ts";
import { registerCore } from "./micro/core.ts";

const json = process.argv.includes("--json");
const core = registerCore();
try {
  const result = await run({ format: json ? "quiet" : "mitata" });
  const rows = rowsFrom(result.benchmarks, core.plan);
  const extra = core.extra();
  if (json) console.log(JSON.stringify({ rows, ...extra }, null, 2));
  else {
    printRows("metadata core, in process (items/s = creates, reads, plans or entries per second)", rows);
    console.log(`\n${JSON.stringify(extra)}`);
  }
} finally {
  core.close();
}
