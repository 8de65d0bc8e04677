import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FsError } from "../../types/index.ts";
import { runObjectStoreSuite } from "../conformance.ts";
import { openObjectStore } from "../open-store.ts";
import { S3ObjectStore } from "./s3-store.ts";
import { S3RVER_ENV, s3Harness, s3StoreUrl } from "./testing/s3-harness.ts";
import { startS3rver } from "./testing/s3rver.ts";

// bunfig.toml's [test] timeout is not read by bun 1.4.5 (5 s default); these tests talk to a real
// server, so give a slow CI machine the room bunfig meant to.
setDefaultTimeout(30_000);

// A real S3 server for the whole file. If it cannot start, this await throws and every test in
// the file fails: nothing here is skipped quietly.
const server = await startS3rver();
afterAll(() => server.stop());

runObjectStoreSuite("s3 (bun, Bun.S3Client)", s3Harness(server, "bun"));
// The AWS SDK path also runs under Bun here: a failure then points at the client, not the runtime.
runObjectStoreSuite("s3 (aws-sdk under bun)", s3Harness(server, "node"));

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const NODE_RUN_TIMEOUT_MS = 180_000;

describe("s3 store", () => {
  test("auto picks Bun's client under Bun", async () => {
    const store = await openObjectStore(s3StoreUrl(server, "auto"), { env: S3RVER_ENV });
    expect(store instanceof S3ObjectStore && store.clientKind).toBe("bun");
    await store.close();
  });

  test("the store prefix holds every key and is invisible through the store", async () => {
    const outer = await openObjectStore(s3StoreUrl(server, "outer"), { env: S3RVER_ENV });
    const inner = await openObjectStore(s3StoreUrl(server, "outer/inner"), { env: S3RVER_ENV });
    await inner.put("k", new Uint8Array([1]));
    expect((await inner.list("")).keys).toEqual(["k"]);
    expect((await outer.list("")).keys).toEqual(["inner/k"]);
    await Promise.all([outer.close(), inner.close()]);
  });

  for (const client of ["bun", "node"] as const) {
    test(`${client}: an unknown access key is EACCES, a missing bucket EIO, a dead endpoint EIO after retries`, async () => {
      const denied = await openObjectStore(s3StoreUrl(server, "x"), { env: { AWS_ACCESS_KEY_ID: "nobody", AWS_SECRET_ACCESS_KEY: "x" }, s3Client: client });
      expect(await codeOf(denied.get("k"))).toBe("EACCES");
      const noBucket = await openObjectStore(s3StoreUrl({ ...server, bucket: "no-such-bucket" }, "x"), { env: S3RVER_ENV, s3Client: client });
      const err = await noBucket.get("k").catch((e: unknown) => e);
      expect(err instanceof FsError && err.code).toBe("EIO");
      expect(String(err)).toContain("NoSuchBucket");
      const dead = await openObjectStore("s3://b-ucket?endpoint=http%3A%2F%2F127.0.0.1%3A1", {
        env: S3RVER_ENV, s3Client: client, s3Policy: { maxAttempts: 2, retryBackoffBaseMs: 1 },
      });
      expect(await codeOf(dead.get("k"))).toBe("EIO");
      await Promise.all([denied.close(), noBucket.close(), dead.close()]);
    });
  }

  test("credentials come from the environment (or the AWS chain), and their absence is EINVAL", async () => {
    // With no keys in `env`, the AWS chain reads the process environment and files: empty both.
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith("AWS_")) delete process.env[name];
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials", AWS_CONFIG_FILE: "/nonexistent/config", AWS_EC2_METADATA_DISABLED: "true" });
    try {
      expect(await codeOf(openObjectStore(s3StoreUrl(server, "x"), { env: {} }))).toBe("EINVAL");
    } finally {
      for (const name of Object.keys(process.env)) if (name.startsWith("AWS_")) delete process.env[name];
      Object.assign(process.env, saved);
    }
    expect(await codeOf(openObjectStore(s3StoreUrl(server, "x"), { env: { AWS_ACCESS_KEY_ID: "S3RVER" } }))).toBe("EINVAL");
  });

  test("the same suite passes under Node with @aws-sdk/client-s3", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "nokv-node-suite-"));
    try {
      // The bundle imports @aws-sdk/client-s3 at run time, as a Node user would; node resolves
      // it through this link to the project's node_modules.
      symlinkSync(here("../../../node_modules"), join(outdir, "node_modules"), "dir");
      const build = await Bun.build({
        entrypoints: [here("./testing/node-suite.ts")],
        outdir,
        target: "node",
        format: "esm",
        naming: "[name].mjs",
        external: ["@aws-sdk/client-s3"],
        plugins: [{
          name: "bun-test-on-node",
          setup(builder) {
            builder.onResolve({ filter: /^bun:test$/ }, () => ({ path: here("./testing/node-test-shim.ts") }));
          },
        }],
      });
      expect(build.logs.map(String).join("\n")).toBe("");
      expect(build.success).toBe(true);
      const run = spawnSync("node", ["--test-reporter=tap", join(outdir, "node-suite.mjs")], {
        env: { ...process.env, NOKV_TEST_S3_ENDPOINT: server.endpoint, NOKV_TEST_S3_BUCKET: server.bucket },
        encoding: "utf8",
        timeout: NODE_RUN_TIMEOUT_MS - 10_000,
      });
      const output = `${run.stdout}\n${run.stderr}`;
      const count = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, "m").exec(output)?.[1] ?? -1);
      if (run.status !== 0 || count("fail") !== 0) console.error(output);
      expect(run.status).toBe(0);
      expect(count("fail")).toBe(0);
      expect(count("nokv-registered-tests")).toBeGreaterThan(15);
      expect(count("pass")).toBe(count("nokv-registered-tests"));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, NODE_RUN_TIMEOUT_MS);
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "no error";
  } catch (err) {
    return err instanceof FsError ? err.code : `not an FsError: ${String(err)}`;
  }
}
