// The metadata core as the replication layer's ShardStateMachine: an entry's commands are
// applied through the store's logged-apply path (the same bytes the leader built, so every
// replica writes the same rows at the same versions), with the core's projections (row cache,
// mounts, pins) told of each one. The shard's log position is its version: shardState(shard).
import { rmSync } from "node:fs";
import type { AppliedEntry, ShardStateMachine } from "../cluster/index.ts";
import type { MetadataService } from "../service/index.ts";
import { FsError } from "../types/index.ts";
import type { ClusterStore } from "./cluster-store.ts";

export class CoreStateMachine implements ShardStateMachine {
  /** Set while the leader's own group is being appended: its events go out after its replies. */
  deferEvents = false;

  constructor(
    private readonly service: MetadataService,
    private readonly store: ClusterStore,
  ) {}

  appliedPosition(shard: number): number {
    return this.service.store.shardState(shard).version;
  }

  applyEntry(shard: number, entry: AppliedEntry): void {
    const core = this.service.core;
    const applied = this.appliedPosition(shard);
    if (entry.first !== applied + 1) throw new Error(`shard ${shard}: entry ${entry.first}..${entry.last} after position ${applied}`);
    core.group(() => {
      entry.commands.forEach((bytes, i) => {
        const command = core.applyLogged(bytes);
        // The position in the log and the command's own version must agree, or replicas diverge.
        if (command.shard !== shard || command.version !== entry.first + i) {
          throw new Error(`shard ${shard} position ${entry.first + i} holds ${command.kind} of shard ${command.shard} version ${command.version}`);
        }
      });
    });
    if (!this.deferEvents) core.publishEvents();
  }

  checkpoint(path: string): Record<number, number> {
    rmSync(path, { force: true });
    return this.store.checkpointTo(path);
  }

  restore(_path: string): void {
    // A running metad holds its database open with projections over it; replacing it underneath
    // is not safe. A replica whose log was trimmed past it restarts and restores at start.
    throw new FsError("ESTALE", "this replica fell behind the trimmed log: restart metad to restore the latest checkpoint");
  }
}
