// The SQLite store of a replicated metad. Every change must come from the replicated log: a
// follower applies what the leader appended, and the leader applies its own groups only after
// etcd accepted them. So a direct commit is refused unless the cluster node is building a group
// (a dry run it rolls back before appending). A write path that bypasses the cluster fails loudly
// here instead of silently diverging this replica from the others.
import { SqliteStore, type CommitResult, type MetadataCommand } from "../schema/index.ts";
import { FsError } from "../types/index.ts";

export class ClusterStore extends SqliteStore {
  /** True only while the cluster node builds a group's commands (see ClusterNode.commitGroup). */
  building = false;

  override commit(command: MetadataCommand): CommitResult {
    if (!this.building) throw new FsError("EROFS", `${command.kind} on mount ${command.shard}: a replicated metad writes only through its etcd log (this write path is not replicated)`);
    return super.commit(command);
  }
}
