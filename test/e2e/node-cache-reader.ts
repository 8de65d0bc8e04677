// A separate reader process for test/e2e/node-cache.test.ts: connects with a node cache and a
// store that counts block GETs, waits for the go file (so several start reading together),
// reads the given paths and prints {"gets","digests","stats"} as one JSON line.
// Run: bun test/e2e/node-cache-reader.ts URL OBJECTS_URL CACHE_DIR GO_FILE PATH...
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { openObjectStore, type ObjectStore } from "../../src/objstore/index.ts";
import { connect } from "../../src/sdk/index.ts";
import { STORE_ID_KEY } from "../../src/types/index.ts";

const [url, objectsUrl, cacheDir, goFile, ...paths] = process.argv.slice(2);
let gets = 0;
const store = await openObjectStore(objectsUrl!);
const counting = new Proxy(store, {
  get(target, prop) {
    if (prop === "get") {
      return (key: string, range?: unknown) => {
        if (key !== STORE_ID_KEY) gets++;
        return target.get(key, range as never);
      };
    }
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === "function" ? value.bind(target) : value;
  },
}) as ObjectStore;
const client = await connect(url!, { cacheDir: cacheDir!, objectStore: counting, cacheBytes: 0 });
while (!existsSync(goFile!)) await Bun.sleep(5);
const digests: Record<string, string> = {};
await Promise.all(paths.map(async (p) => {
  digests[p] = createHash("sha256").update(await client.readFile(p)).digest("hex");
}));
await client.close();
await store.close();
console.log(JSON.stringify({ gets, digests }));
