export type { ByteRange, Durability, ListOptions, ListPage, ObjectHead, ObjectStore, TempSweepResult } from "./object-store.ts";
export { getInto } from "./object-store.ts";
export { checkKey, compareKeys } from "./keys.ts";
export { openObjectStore, redactStoreUrl, type OpenStoreOptions } from "./open-store.ts";
export { FileObjectStore, type FileStoreOptions } from "./file/file-store.ts";
export { S3ObjectStore, type S3RequestPolicy } from "./s3/s3-store.ts";
export type { S3ClientKind } from "./s3/s3-driver.ts";
export { checkStoreId, hasBlocks, readStoreId, writeStoreId } from "./store-id.ts";
