export * from "./command.ts";
export * from "./ddl.ts";
export * from "./store.ts";
export { SqliteStore, PredicateFailed, SYS_VERSION_RESERVED, SYS_INODE_RESERVED, type SqliteStoreOptions } from "./sqlite/sqlite-store.ts";
export { SqliteFullScan } from "./sqlite/full-scan.ts";
