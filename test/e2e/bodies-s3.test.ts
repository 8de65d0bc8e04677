import { afterAll, setDefaultTimeout } from "bun:test";
import { randomBytes } from "node:crypto";
import { S3RVER_ENV, s3StoreUrl } from "../../src/objstore/s3/testing/s3-harness.ts";
import { startS3rver } from "../../src/objstore/s3/testing/s3rver.ts";
import { startMetad } from "../harness.ts";
import { runBodySuite } from "./bodies-suite.ts";

// The same data path suite against a real S3 server (s3rver): metad names an s3:// store in hello
// and the client opens it itself. If s3rver cannot start, the await below fails every test here.

setDefaultTimeout(30_000);

// metad and the client both read S3 credentials from the environment, as in production.
const savedEnv = { ...process.env };
Object.assign(process.env, S3RVER_ENV);
const server = await startS3rver();
afterAll(async () => {
  await server.stop();
  for (const name of Object.keys(S3RVER_ENV)) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

runBodySuite("s3://, s3rver", () => startMetad({ objectsUrl: s3StoreUrl(server, `bodies-${randomBytes(6).toString("hex")}`) }));
