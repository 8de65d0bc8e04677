import { cutRange, type InodeId, type ReadPlan, type ReadRange } from "../types/index.ts";

// A sequential reader's plan of one body generation, kept by the reader itself (the mount keeps
// one per open file): metad plans a long stretch ahead once, and the reads that follow inside it
// cut their ranges from it instead of asking again, one round trip per stretch instead of one
// per window. A generation's body never changes, so its plan stays right for as long as its
// blocks exist; a block collected after the body moved on makes the read fail as missing, and
// the reader drops the plan and asks metad, which says whether the body moved (ESTALE).
// Scoped to one reader on purpose: a new open asks metad first and so sees the current body.

interface KeptPlan {
  inode: InodeId;
  generation: number;
  sizeBytes: number;
  /** File offsets the plan covers. */
  fromBytes: number;
  toBytes: number;
  /** Output offsets counted from offset 0 of the file. */
  ranges: ReadRange[];
}

export class ReadPlans {
  private kept: KeptPlan | null = null;

  /** `aheadBytes`: how far past a read the plan asked for it reaches (the read plan window caps it). */
  constructor(readonly aheadBytes: number) {}

  /** The ranges of [offsetBytes, offsetBytes + lengthBytes) of `generation`, counted from offsetBytes, if the plan covers it. */
  cut(inode: InodeId, generation: number, offsetBytes: number, lengthBytes: number): { sizeBytes: number; ranges: ReadRange[] } | null {
    const plan = this.covering(generation, offsetBytes, lengthBytes);
    if (!plan || plan.inode !== inode) return null;
    const endBytes = Math.min(offsetBytes + lengthBytes, plan.sizeBytes);
    const ranges: ReadRange[] = [];
    for (let i = firstEndingAfter(plan.ranges, offsetBytes); i < plan.ranges.length; i++) {
      const range = plan.ranges[i]!;
      if (range.outputOffset >= endBytes) break;
      const part = cutRange(range, offsetBytes, endBytes);
      if (part) ranges.push(part);
    }
    return { sizeBytes: plan.sizeBytes, ranges };
  }

  /** Whether the plan kept covers [offsetBytes, offsetBytes + lengthBytes) of `generation` (of the one file its reader reads). */
  covers(generation: number, offsetBytes: number, lengthBytes: number): boolean {
    return this.covering(generation, offsetBytes, lengthBytes) !== null;
  }

  private covering(generation: number, offsetBytes: number, lengthBytes: number): KeptPlan | null {
    const plan = this.kept;
    if (!plan || plan.generation !== generation) return null;
    return offsetBytes >= plan.fromBytes && Math.min(offsetBytes + lengthBytes, plan.sizeBytes) <= plan.toBytes ? plan : null;
  }

  /** Keeps `plan`, asked for at `offsetBytes`, in place of the one before. */
  keep(inode: InodeId, offsetBytes: number, plan: ReadPlan): void {
    // metad counts the plan's output from the offset clipped to the body's end.
    const fromBytes = Math.min(offsetBytes, plan.sizeBytes);
    const toBytes = plan.nextOffsetBytes ?? fromBytes + plan.lengthBytes;
    const ranges = plan.ranges.map((range) => ({ ...range, outputOffset: range.outputOffset + fromBytes }));
    this.kept = { inode, generation: plan.generation, sizeBytes: plan.sizeBytes, fromBytes, toBytes, ranges };
  }

  drop(): void {
    this.kept = null;
  }
}

/** The index of the first of `ranges` (in output order, not overlapping) that ends past `offsetBytes`. */
function firstEndingAfter(ranges: readonly ReadRange[], offsetBytes: number): number {
  let low = 0;
  let high = ranges.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const range = ranges[mid]!;
    if (range.outputOffset + range.lengthBytes <= offsetBytes) low = mid + 1;
    else high = mid;
  }
  return low;
}
