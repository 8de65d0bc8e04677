// Starts s3rver for the object store tests. Run under Node (s3rver's crypto needs
// --openssl-legacy-provider on OpenSSL 3): node --openssl-legacy-provider s3rver-main.mjs DIR BUCKET
// Listens on an ephemeral loopback port and prints one JSON line {"port": N} once the bucket
// exists, so the parent never races a fixed port or polls. Stops on SIGTERM or when stdin closes.
import { rmSync } from "node:fs";
import S3rver from "s3rver";

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  console.error("usage: s3rver-main.mjs DIR BUCKET");
  process.exit(2);
}

const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  // Path-style only: virtual-host routing would turn "127.0.0.1" into a bucket name.
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
});

// Two s3rver 3.7.1 bugs, fixed here so the suite tests our client against S3's documented
// behaviour rather than the fake's:
// 1. Listing walks its directory tree, so "a/b" lists before "a-c"; S3 lists in UTF-8 byte order
//    and pages continue from the last key, so a wrong order also loses keys across pages.
// 2. A range read of an empty object answers 206 with Content-Length 1 and no body (the client
//    sees a closed connection); S3 answers 416 InvalidRange, which a null content produces.
const store = server.store;
const listObjects = store.listObjects.bind(store);
store.listObjects = async (bucketName, options) => {
  if (options.delimiter) return listObjects(bucketName, options);
  const all = await listObjects(bucketName, { ...options, maxKeys: Infinity });
  all.objects.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const maxKeys = options.maxKeys ?? Infinity;
  return { ...all, objects: all.objects.slice(0, maxKeys), isTruncated: all.objects.length > maxKeys };
};
const getObject = store.getObject.bind(store);
store.getObject = async (bucketName, key, options) => {
  const object = await getObject(bucketName, key, options);
  if (object?.range && object.size === 0) {
    object.content?.destroy();
    object.content = null;
  }
  return object;
};

const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

const stop = () => {
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The parent holds our stdin open; its end means the test process died without stopping us, so
// nobody else will remove the data directory either.
process.stdin.on("end", () => {
  rmSync(directory, { recursive: true, force: true });
  stop();
});
process.stdin.resume();
