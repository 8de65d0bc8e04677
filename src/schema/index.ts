export * from "./command.ts";
export * from "./ddl.ts";
export * from "./store.ts";
export * from "./command-codec.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite/sqlite-store.ts";
export { storedShardPositions } from "./sqlite/shard-rows.ts";
export { PredicateFailed } from "./sqlite/predicates.ts";
export { SqliteFullScan } from "./sqlite/full-scan.ts";
export * from "./staged-id.ts";
