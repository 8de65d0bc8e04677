import { FsError, LIMITS, ORDINAL_END, formatCursor, type InodeId, type MountId, type WatchCursor, type WatchEvent } from "../types/index.ts";
import type { ServiceCore } from "./core.ts";

// The watch log: typed events per directory scope, replayable from a cursor. Live delivery is
// push (ServiceCore.onEvents); replay covers what a subscriber missed while away.

export interface WatchPage {
  events: WatchEvent[];
  /** Resume after this position: the last event returned, or past the commands the page read without finding one. */
  cursor: WatchCursor;
  /** More events may follow right away. */
  more: boolean;
}

export class Watch {
  constructor(private readonly core: ServiceCore) {}

  /** The position just after everything a mount has committed: subscribe from here to see only new events. */
  head(mount: MountId): WatchCursor {
    return { version: this.core.version(mount), ordinal: ORDINAL_END };
  }

  /** ESTALE when events after `cursor` may already be trimmed from the log. */
  checkCursor(mount: MountId, cursor: WatchCursor): void {
    // Events are read from the command log: what its own trim removed is gone too.
    const state = this.core.store.shardState(mount);
    const floor = Math.max(state.watchFloor, state.logFloor);
    // Trims remove whole versions below the floor: a cursor in them may have lost events, unless
    // it stands after all of the version just below the floor.
    if (cursor.version < floor && !(cursor.version === floor - 1 && cursor.ordinal === ORDINAL_END)) {
      throw new FsError("ESTALE", `watch cursor ${formatCursor(cursor)} is older than the retained log (from ${floor}); list the directory again`);
    }
  }

  /** Events of a scope strictly after `cursor`, a page at a time; ESTALE if the log no longer holds them. */
  replay(args: { mount: MountId; scope: InodeId; cursor: WatchCursor; limit?: number }): WatchPage {
    const { mount, scope, cursor } = args;
    const limit = Math.min(args.limit ?? LIMITS.watchPageMaxEvents, LIMITS.watchPageMaxEvents);
    if (!Number.isInteger(limit) || limit < 1) throw new FsError("EINVAL", `watch page limit must be a positive integer`);
    this.checkCursor(mount, cursor);
    const page = this.core.store.scanWatch(mount, scope, cursor, limit);
    return { events: page.events, cursor: page.through, more: page.more };
  }
}
