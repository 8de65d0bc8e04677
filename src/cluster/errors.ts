// Errors of the replication layer, each an FsError so every caller maps them to an errno.
import { FsError } from "../types/index.ts";

/** This replica may not write the shard: it is not the leader, or a newer epoch fenced it out. */
export class NotLeaderError extends FsError {
  constructor(
    readonly shard: number,
    message: string,
    /** Commands of the refused group that were appended before the refusal (a split group). */
    readonly committedCount = 0,
  ) {
    super("EAGAIN", `shard ${shard}: ${message}`);
  }
}

/** The log no longer holds the position a replica needs: restore a checkpoint first. */
export class LogTrimmedError extends FsError {
  constructor(
    readonly shard: number,
    readonly wanted: number,
    readonly trimmedThrough: number,
  ) {
    super("ESTALE", `shard ${shard}: log trimmed through position ${trimmedThrough}, position ${wanted} needs a checkpoint`);
  }
}

