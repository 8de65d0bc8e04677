import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsError } from "../../types/index.ts";
import { openObjectStore } from "../open-store.ts";
import { startS3rver, type S3rverHandle } from "./testing/s3rver.ts";
import { credentialsFromEnv, withoutUserinfo } from "./s3-url.ts";

// S3 credentials follow the AWS standard provider chain when the environment names no keys (here
// a shared-credentials profile, as `aws configure` writes it), on both clients; and a URL that
// carries credentials is refused without repeating them.

const AWS_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_EC2_METADATA_DISABLED"];
let s3: S3rverHandle;
let dir: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  s3 = await startS3rver("chain-bucket");
  dir = mkdtempSync(join(tmpdir(), "nokv-creds-"));
  for (const name of AWS_VARS) saved[name] = process.env[name];
});
afterAll(async () => {
  for (const name of AWS_VARS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

function useProfile(): void {
  const credentials = join(dir, "credentials");
  writeFileSync(credentials, "[default]\naws_access_key_id = NOPE\naws_secret_access_key = NOPE\n\n[nokv-test]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n");
  writeFileSync(join(dir, "config"), "");
  for (const name of AWS_VARS) delete process.env[name];
  process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
  process.env.AWS_CONFIG_FILE = join(dir, "config");
  process.env.AWS_PROFILE = "nokv-test";
  // No instance-metadata probe on a machine that is not in a cloud.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
}

for (const client of ["bun", "node"] as const) {
  test(`without AWS_* keys the ${client} client takes a profile from the shared credentials file`, async () => {
    useProfile();
    const url = `s3://${s3.bucket}/chain-${client}?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`;
    const store = await openObjectStore(url, { s3Client: client });
    await store.put("k/one", new Uint8Array([1, 2, 3]));
    expect([...(await store.get("k/one"))]).toEqual([1, 2, 3]);
    await store.close();
  });
}

test("no keys in the environment defers to the chain; half a pair is an error naming the missing half", () => {
  expect(credentialsFromEnv({})).toBeNull();
  expect(credentialsFromEnv({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" })).toEqual({ accessKeyId: "a", secretAccessKey: "b" });
  expect(() => credentialsFromEnv({ AWS_ACCESS_KEY_ID: "a" })).toThrow("AWS_SECRET_ACCESS_KEY is missing");
});

test("credentials in an s3:// URL are refused and never printed", async () => {
  const secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
  for (const url of [`s3://AKIAEXAMPLE:${secret}@bucket-one/p`, `s3://bucket-one/p?endpoint=${encodeURIComponent(`http://AKIAEXAMPLE:${secret}@127.0.0.1:9000`)}`]) {
    const err = (await openObjectStore(url).catch((e: unknown) => e)) as FsError;
    expect(err).toBeInstanceOf(FsError);
    expect(err.code).toBe("EINVAL");
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain("AKIAEXAMPLE");
    expect(err.message).toContain("credentials in the");
  }
  expect(withoutUserinfo("s3://bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A9000")).toBe("s3://bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A9000");
});
