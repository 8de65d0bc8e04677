// The TypeScript side of the cross-language tests: reads files with the TypeScript SDK and prints
// "<sha256> <size> <path>" per file, or writes files of seeded bytes the Python side checks.
// bun python/tests/ts_peer.ts URL read PATH...  |  bun python/tests/ts_peer.ts URL write SIZE PATH...
import { createHash } from "node:crypto";
import { connect } from "../../src/sdk/index.ts";

const [url, mode, ...rest] = process.argv.slice(2);
// NOKV_PEER_CACHE_DIR: read and write through the node-local block cache in that directory.
const cacheDir = process.env.NOKV_PEER_CACHE_DIR;
const fs = await connect(url!, { mount: "default", ...(cacheDir ? { cacheDir } : {}) } as Parameters<typeof connect>[1]);
try {
  if (mode === "read") {
    for (const path of rest) {
      const bytes = await fs.readFile(path);
      console.log(`${createHash("sha256").update(bytes).digest("hex")} ${bytes.length} ${path}`);
    }
  } else if (mode === "write") {
    const size = Number(rest[0]);
    for (const [i, path] of rest.slice(1).entries()) {
      // Deterministic bytes: sha256 counter stream of the path, so Python can recompute them.
      const out = Buffer.alloc(size + i * 1000);
      for (let at = 0, n = 0; at < out.length; at += 32, n++) createHash("sha256").update(`${path}:${n}`).digest().copy(out, at);
      await fs.writeFile(path, out);
      console.log(`${createHash("sha256").update(out).digest("hex")} ${out.length} ${path}`);
    }
  } else {
    throw new Error(`mode ${mode}: read or write`);
  }
} finally {
  await fs.close();
}
