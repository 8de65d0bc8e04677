// A training-style data loader: reads every sample of a dataset once per epoch, in a fresh random
// order each epoch, several reads in flight, and reports samples/s. Bytes come straight from the
// object store; metad only answers the (batched) metadata lookups.
//
//   bun examples/training-loader.ts --server nokv://127.0.0.1:7777 --dir /datasets/samples \
//     [--generate 1024 --sample-bytes 16384] [--epochs 2] [--concurrency 32] [--seed 42]
//
// In your own project import from "nokv/sdk" instead of the source path.
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { connect, type NoKVClient } from "../src/sdk/index.ts";

const { values: args } = parseArgs({
  options: {
    server: { type: "string", default: process.env.NOKV_SERVER ?? "nokv://127.0.0.1:7777" },
    mount: { type: "string", default: "default" },
    dir: { type: "string", default: "/datasets/samples" },
    generate: { type: "string" },
    "sample-bytes": { type: "string", default: "16384" },
    epochs: { type: "string", default: "1" },
    concurrency: { type: "string", default: "32" },
    seed: { type: "string", default: "42" },
  },
});

/** A small seeded PRNG (mulberry32): the same --seed gives the same sample order. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Writes `count` samples of `sizeBytes` if the dataset directory does not exist yet. */
async function generate(fs: NoKVClient, dir: string, count: number, sizeBytes: number): Promise<void> {
  if (await fs.exists(dir)) return;
  await fs.mkdir(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `sample-${String(i).padStart(6, "0")}.bin`);
  for (let i = 0; i < names.length; i += 64) {
    await Promise.all(names.slice(i, i + 64).map((name) => fs.writeFile(`${dir}/${name}`, crypto.getRandomValues(new Uint8Array(sizeBytes)))));
  }
  console.log(`generated ${count} samples of ${sizeBytes} bytes in ${dir}`);
}

const fs = await connect(args.server, { mount: args.mount });
try {
  if (args.generate) await generate(fs, args.dir, Number(args.generate), Number(args["sample-bytes"]));
  const names = (await fs.readdir(args.dir)).filter((n) => !n.startsWith("."));
  const next = random(Number(args.seed));
  const concurrency = Number(args.concurrency);
  for (let epoch = 1; epoch <= Number(args.epochs); epoch++) {
    const order = shuffle([...names], next);
    // Order-independent fingerprint of what was read: XOR of per-sample digests.
    const fingerprint = Buffer.alloc(32);
    let bytes = 0;
    let cursor = 0;
    const startedMs = performance.now();
    const worker = async () => {
      while (cursor < order.length) {
        const name = order[cursor++]!;
        const sample = await fs.readFile(`${args.dir}/${name}`);
        bytes += sample.byteLength;
        const digest = createHash("sha256").update(sample).digest();
        for (let i = 0; i < 32; i++) fingerprint[i]! ^= digest[i]!;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, order.length) }, worker));
    const seconds = (performance.now() - startedMs) / 1000;
    console.log(
      `epoch ${epoch}: read ${order.length} samples (${bytes} bytes) in ${seconds.toFixed(2)}s: ` +
        `${Math.round(order.length / seconds)} samples/s, first ${order[0] ?? "-"}, fingerprint ${fingerprint.toString("hex").slice(0, 16)}`,
    );
  }
} finally {
  await fs.close();
}
