export { MetadataService, type MetadataServiceOptions } from "./metadata-service.ts";
export type { WriteOptions, EventListener } from "./core.ts";
export type { EntryArgs, NewEntryArgs, ReaddirArgs, RenameArgs } from "./namespace.ts";
export type { PathArgs, PathView } from "./paths.ts";
export type { PrepareArgs, PublishArgs, PlanArgs } from "./publish.ts";
export type { SnapshotInfo } from "./snapshots.ts";
export type { WatchPage } from "./watch.ts";
export type { GcObjectTarget, GcReport, GcRetention } from "./gc.ts";
export type { MountInfo } from "./mounts.ts";
