export * from "./command.ts";
export * from "./ddl.ts";
export * from "./store.ts";
export { SqliteStore, PredicateFailed, type SqliteStoreOptions } from "./sqlite/sqlite-store.ts";
