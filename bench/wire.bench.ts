// Wire codec micro benchmarks (bench/micro/wire.ts). Run: ./node_modules/.bin/bun bench/wire.bench.ts
import { run } from "mitata";
import { registerWire } from "./micro/wire.ts";

registerWire();
await run();
