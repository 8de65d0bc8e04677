// A fresh, empty S3 object store per test: a random prefix in the shared s3rver bucket.
import { randomBytes } from "node:crypto";
import type { StoreHarness } from "../../conformance.ts";
import { openObjectStore } from "../../open-store.ts";
import type { S3ClientKind } from "../s3-driver.ts";

/** s3rver accepts any secret (it checks no signatures) but only this access key id. */
export const S3RVER_ENV = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" } as const;

export function s3StoreUrl(server: { endpoint: string; bucket: string }, prefix: string): string {
  return `s3://${server.bucket}/${prefix}?endpoint=${encodeURIComponent(server.endpoint)}&region=us-east-1`;
}

export function s3Harness(server: { endpoint: string; bucket: string }, client: S3ClientKind): () => Promise<StoreHarness> {
  return async () => {
    const store = await openObjectStore(s3StoreUrl(server, `t-${randomBytes(6).toString("hex")}`), { env: S3RVER_ENV, s3Client: client });
    // Objects stay until the server's temp directory goes: deleting them here would add a
    // listing and a delete per object to every test for nothing.
    return { store, cleanup: () => store.close() };
  };
}
