import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { FsError } from "../types/index.ts";
import { FileObjectStore } from "./file/file-store.ts";
import { openObjectStore, redactStoreUrl } from "./open-store.ts";
import { parseS3Url } from "./s3/s3-url.ts";

const env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG", AWS_SESSION_TOKEN: "FwoGZXIvYXdzEJr" };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => "no error", (err: unknown) => (err instanceof FsError ? err.code : `not an FsError: ${String(err)}`));
}

describe("openObjectStore", () => {
  test("file:// with an absolute or a relative directory; the url reopens the same store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nokv-open-"));
    const absolute = await openObjectStore(`file://${dir}/objects`, { durability: "full" });
    expect(absolute instanceof FileObjectStore && absolute.durability).toBe("full");
    expect(absolute.url).toBe(`file://${dir}/objects`);
    await absolute.put("k", new Uint8Array([7]));
    const relativeStore = await openObjectStore(`file://./${relative(process.cwd(), join(dir, "objects"))}`);
    expect(relativeStore.url).toBe(absolute.url);
    expect(Array.from(await relativeStore.get("k"))).toEqual([7]);
    expect(Array.from(await (await openObjectStore(absolute.url)).get("k"))).toEqual([7]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("anything but file:// and s3:// is EINVAL, with secrets kept out of the message", async () => {
    for (const url of ["", "file://", "/plain/path", "http://bucket", "gs://bucket", "s3:/bucket"]) {
      expect(await codeOf(openObjectStore(url))).toBe("EINVAL");
    }
    const err = await openObjectStore("https://user:hunter2@example.com/?token=abc").catch((e: unknown) => e);
    expect(String(err)).not.toContain("hunter2");
    expect(String(err)).not.toContain("abc");
  });

  test("s3:// urls: bucket, prefix, endpoint, region; bad ones are EINVAL", async () => {
    expect(parseS3Url("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "", endpoint: "https://s3.us-east-1.amazonaws.com", region: "us-east-1" });
    expect(parseS3Url("s3://my-bucket/a/b/?endpoint=http://127.0.0.1:9000&region=eu-west-1")).toEqual({
      bucket: "my-bucket", prefix: "a/b", endpoint: "http://127.0.0.1:9000", region: "eu-west-1",
    });
    const store = await openObjectStore("s3://my-bucket/p%20q?endpoint=http%3A%2F%2Flocalhost%3A9000", { env, s3Client: "bun" });
    expect(store.url).toBe("s3://my-bucket/p%20q?endpoint=http%3A%2F%2Flocalhost%3A9000&region=us-east-1");
    expect(parseS3Url(store.url).prefix).toBe("p q");
    await store.close();
    const bad = [
      "s3://", "s3://UPPER", "s3://ab", "s3://b_ucket", "s3://key:secret@bucket", "s3://bucket?endpoint=ftp://x",
      "s3://bucket?endpoint=http://u:p@host", "s3://bucket?endpoint=http://host/path", "s3://bucket?secret=1",
      "s3://bucket/../x", "s3://bucket/a//b", `s3://bucket/${"p".repeat(200)}`, "s3://bucket#frag", "s3://bucket/%E0%A4%A",
    ];
    for (const url of bad) expect(await codeOf(openObjectStore(url, { env }))).toBe("EINVAL");
  });

  test("the store url never carries the credentials", async () => {
    const store = await openObjectStore("s3://my-bucket?endpoint=http://localhost:9000", { env, s3Client: "node" });
    for (const secret of Object.values(env)) expect(store.url).not.toContain(secret);
    await store.close();
  });
});

describe("redactStoreUrl", () => {
  test("drops userinfo and secret-looking parameters, keeps the rest", () => {
    expect(redactStoreUrl("s3://AKID:SECRET@bucket/pre?endpoint=http://minio:9000&region=r1")).toBe(
      "s3://bucket/pre?endpoint=http://minio:9000&region=r1",
    );
    const presigned = "https://host/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKID%2F2024&X-Amz-Signature=abc&X-Amz-Security-Token=tok&partNumber=1";
    expect(redactStoreUrl(presigned)).toBe("https://host/b/k?X-Amz-Algorithm=AWS4&partNumber=1");
    for (const name of ["secret", "accessKeyId", "token", "password", "sig", "authorization"]) {
      expect(redactStoreUrl(`s3://bucket?${name}=hunter2&region=r`)).toBe("s3://bucket?region=r");
    }
  });

  test("redacts endpoints nested in parameters, and never echoes what it cannot parse", () => {
    expect(redactStoreUrl("s3://bucket?endpoint=http%3A%2F%2Fu%3Ap%40minio%3A9000%2F%3Ftoken%3Dx")).toBe(
      "s3://bucket?endpoint=http%3A%2F%2Fminio%3A9000%2F",
    );
    expect(redactStoreUrl("s3://key:sec ret@[bad")).toBe("s3://<redacted>");
    expect(redactStoreUrl("no scheme at all, secret")).toBe("<redacted>");
    expect(redactStoreUrl("file://./.nokv/objects")).toBe("file://./.nokv/objects");
  });
});
