// S3 through @aws-sdk/client-s3, for Node. Loaded with a dynamic import so Bun processes, which
// use Bun's own client, never pay for loading the SDK.
import { FsError } from "../../types/index.ts";
import { noCredentials } from "./s3-url.ts";
import type { S3Driver, S3DriverConfig } from "./s3-driver.ts";

/** @aws-sdk/client-s3 is an optional peer dependency: file:// users never install it. */
async function loadAwsSdk(): Promise<typeof import("@aws-sdk/client-s3")> {
  try {
    return await import("@aws-sdk/client-s3");
  } catch (err) {
    if ((err as { code?: string }).code !== "ERR_MODULE_NOT_FOUND" && !/Cannot find (module|package)/.test(String(err))) throw err;
    throw new FsError("ENOTSUP", "an s3:// object store under Node needs the AWS SDK: npm install @aws-sdk/client-s3");
  }
}

export async function createNodeDriver({ location, credentials }: S3DriverConfig): Promise<S3Driver> {
  const sdk = await loadAwsSdk();
  const client = new sdk.S3Client({
    endpoint: location.endpoint,
    region: location.region,
    // Without explicit keys the SDK's default provider chain runs (profiles, web identity, roles).
    ...(credentials ? { credentials } : {}),
    forcePathStyle: true,
    // Otherwise uploads get aws-chunked framing with trailing checksums, which some
    // S3-compatible servers store as part of the object.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // S3ObjectStore retries every call the same way on both clients; no second layer here.
    maxAttempts: 1,
  });
  // Resolve the chain now, so missing credentials fail at open rather than on the first request.
  if (!credentials) await client.config.credentials().catch((err: unknown) => Promise.reject(noCredentials(err)));
  const Bucket = location.bucket;
  return {
    kind: "node",
    async put(Key, bytes, abortSignal) {
      const command = new sdk.PutObjectCommand({ Bucket, Key, Body: bytes, ContentLength: bytes.byteLength, ContentType: "application/octet-stream" });
      await client.send(command, { abortSignal });
    },
    async get(Key, range, abortSignal) {
      const Range = range ? `bytes=${range.startBytes}-${range.endBytes - 1}` : undefined;
      const response = await client.send(new sdk.GetObjectCommand({ Bucket, Key, Range }), { abortSignal });
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
    },
    async head(Key, abortSignal) {
      const response = await client.send(new sdk.HeadObjectCommand({ Bucket, Key }), { abortSignal });
      return response.ContentLength ?? 0;
    },
    async delete(Key, abortSignal) {
      await client.send(new sdk.DeleteObjectCommand({ Bucket, Key }), { abortSignal });
    },
    async list({ prefix, startAfter, maxKeys }, abortSignal) {
      const command = new sdk.ListObjectsV2Command({ Bucket, Prefix: prefix, StartAfter: startAfter, MaxKeys: maxKeys });
      const response = await client.send(command, { abortSignal });
      return { keys: (response.Contents ?? []).map((entry) => entry.Key ?? ""), truncated: response.IsTruncated === true };
    },
    close() {
      client.destroy();
    },
  };
}
