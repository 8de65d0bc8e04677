// Entry point of the Node run of the S3 conformance suite (see s3-store.test.ts): bundled for
// Node with "bun:test" mapped to node-test-shim.ts, run against the s3rver the Bun test started.
import { runObjectStoreSuite } from "../../conformance.ts";
import { openObjectStore } from "../../open-store.ts";
import { S3ObjectStore } from "../s3-store.ts";
import { describe, expect, registeredTestCount, test } from "./node-test-shim.ts";
import { S3RVER_ENV, s3Harness, s3StoreUrl } from "./s3-harness.ts";

const endpoint = process.env.NOKV_TEST_S3_ENDPOINT;
const bucket = process.env.NOKV_TEST_S3_BUCKET;
if (!endpoint || !bucket) throw new Error("NOKV_TEST_S3_ENDPOINT and NOKV_TEST_S3_BUCKET must be set");
const server = { endpoint, bucket };

describe("s3 store under node", () => {
  test("auto picks @aws-sdk/client-s3 when Bun is absent", async () => {
    expect(typeof Bun).toBe("undefined");
    const store = await openObjectStore(s3StoreUrl(server, "runtime-check"), { env: S3RVER_ENV });
    expect(store instanceof S3ObjectStore && store.clientKind).toBe("node");
    await store.close();
  });
});
runObjectStoreSuite("s3 (node, @aws-sdk/client-s3)", s3Harness(server, "node"));

// Read by the parent to check that every registered test ran and passed.
console.log(`# nokv-registered-tests ${registeredTestCount()}`);
