import { FsError, LIMITS, type InodeId, type MountId, type WatchCursor, type WatchEvent } from "../types/index.ts";
import type { ServiceCore } from "./core.ts";

// The watch log: typed events per directory scope, replayable from a cursor. Live delivery is
// push (ServiceCore.onEvents); replay covers what a subscriber missed while away.

export interface WatchPage {
  events: WatchEvent[];
  /** Resume after this position (the last event returned, or the cursor given when none). */
  cursor: WatchCursor;
  /** More events may follow right away. */
  more: boolean;
}

export class Watch {
  constructor(private readonly core: ServiceCore) {}

  /** The position just after everything committed so far: subscribe from here to see only new events. */
  head(): WatchCursor {
    return { version: this.core.store.currentVersion(), ordinal: Number.MAX_SAFE_INTEGER };
  }

  replay(args: { mount: MountId; scope: InodeId; cursor: WatchCursor; limit?: number }): WatchPage {
    const { mount, scope, cursor } = args;
    const limit = Math.min(args.limit ?? LIMITS.watchPageMaxEvents, LIMITS.watchPageMaxEvents);
    if (!Number.isInteger(limit) || limit < 1) throw new FsError("EINVAL", `watch page limit must be a positive integer`);
    const floor = this.core.store.watchFloor();
    if (cursor.version < floor) {
      throw new FsError("ESTALE", `watch cursor ${cursor.version} is older than the retained log (from ${floor}); list the directory again`);
    }
    const events = this.core.store.scanWatch(mount, scope, cursor, limit);
    const last = events[events.length - 1];
    return { events, cursor: last ? { version: last.version, ordinal: last.ordinal } : cursor, more: events.length === limit };
  }
}
