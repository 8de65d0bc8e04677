// S3 through Bun's built-in client (native, ~3x faster than the AWS SDK for small objects).
// It takes no AbortSignal, so a timed-out call is abandoned rather than cancelled: S3ObjectStore's
// timer still answers the caller on time.
import { FsError } from "../../types/index.ts";
import type { S3Driver, S3DriverConfig } from "./s3-driver.ts";
import { noCredentials, type S3Credentials, type S3Location } from "./s3-url.ts";

type CredentialProvider = () => Promise<S3Credentials & { expiration?: Date }>;

/**
 * The AWS standard provider chain, from the AWS SDK (an optional dependency): Bun's client
 * takes only fixed keys. The provider caches and refreshes expiring credentials (roles).
 */
async function providerChain(): Promise<CredentialProvider> {
  let mod: { defaultProvider: () => CredentialProvider };
  try {
    mod = (await import("@aws-sdk/credential-provider-node")) as unknown as typeof mod;
  } catch {
    throw new FsError("EINVAL", "s3 object store: no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and the AWS credential chain needs @aws-sdk/client-s3 installed");
  }
  return mod.defaultProvider();
}

function bunClient(location: S3Location, credentials: S3Credentials): Bun.S3Client {
  return new Bun.S3Client({
    bucket: location.bucket,
    endpoint: location.endpoint,
    region: location.region,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    virtualHostedStyle: false,
    // S3ObjectStore retries every call the same way on both clients; no second layer here.
    retry: 0,
    type: "application/octet-stream",
  });
}

export async function createBunDriver({ location, credentials }: S3DriverConfig): Promise<S3Driver> {
  const fixed = credentials ? bunClient(location, credentials) : null;
  const provider = fixed ? null : await providerChain();
  let current: { credentials: S3Credentials; client: Bun.S3Client } | null = null;
  const clientFor = async (): Promise<Bun.S3Client> => {
    if (fixed) return fixed;
    const latest = await provider!();
    // A refreshed credential is a new object: build a client for it.
    if (current?.credentials !== latest) current = { credentials: latest, client: bunClient(location, latest) };
    return current.client;
  };
  // Fail at open, not at the first request, when the chain finds nothing.
  if (provider) await clientFor().catch((err: unknown) => Promise.reject(noCredentials(err)));
  return {
    kind: "bun",
    async put(key, bytes) {
      await (await clientFor()).write(key, bytes);
    },
    async get(key, range) {
      const file = (await clientFor()).file(key);
      return await (range ? file.slice(range.startBytes, range.endBytes) : file).bytes();
    },
    async head(key) {
      return (await (await clientFor()).stat(key)).size;
    },
    async delete(key) {
      await (await clientFor()).delete(key);
    },
    async list({ prefix, startAfter, maxKeys }) {
      const result = await (await clientFor()).list({ prefix, maxKeys, ...(startAfter !== undefined ? { startAfter } : {}) });
      return { keys: (result.contents ?? []).map((entry) => entry.key), truncated: result.isTruncated === true };
    },
    close() {},
  };
}
