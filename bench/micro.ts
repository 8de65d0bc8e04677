// The hot-path micro benches in one run (mitata, in process): frame encode/decode and msgpack
// DTOs (bench/micro/wire.ts), command build, store commit, reads and read-plan computation beside
// the bare bun:sqlite floor (bench/micro/core.ts). `bun run bench:micro [--filter REGEX]`.
import { run } from "mitata";
import { printRows, rowsFrom } from "./lib/report.ts";
import { registerCore } from "./micro/core.ts";
import { registerWire } from "./micro/wire.ts";

const filterAt = process.argv.indexOf("--filter");
const filter = filterAt > 0 ? new RegExp(process.argv[filterAt + 1] ?? "") : undefined;
registerWire();
const core = registerCore();
try {
  const result = await run(filter ? { filter } : {});
  printRows("metadata core, in process (items/s = creates, reads, plans or entries per second)", rowsFrom(result.benchmarks, core.plan));
  console.log(`\n${JSON.stringify(core.extra())}`);
} finally {
  core.close();
}
