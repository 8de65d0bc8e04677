import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// What the node service has mounted, one file per staged volume under the state directory
// (root-only: it holds the volume's metad token, needed to re-create a mount after a restart).
// Written before answering the CO, so a driver restarted at any point finds every mount it made.

export interface StagedVolume {
  volumeId: string;
  stagingPath: string;
  server: string;
  token?: string;
  mount: string;
  /** The volume's directory inside the mount ("/" for a whole mount). */
  path: string;
  readOnly: boolean;
  capacityBytes: number;
  /** The FUSE mount process. */
  pid: number;
  /** Pod target paths this volume is bound into, and whether read-only. */
  publishes: Record<string, { readOnly: boolean }>;
}

export class NodeState {
  private readonly volumesDir: string;
  readonly logsDir: string;

  constructor(readonly dir: string) {
    this.volumesDir = join(dir, "volumes");
    this.logsDir = join(dir, "logs");
    mkdirSync(this.volumesDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.logsDir, { recursive: true, mode: 0o700 });
  }

  private file(volumeId: string): string {
    return join(this.volumesDir, `${key(volumeId)}.json`);
  }

  logFile(volumeId: string): string {
    return join(this.logsDir, `${key(volumeId)}.log`);
  }

  get(volumeId: string): StagedVolume | null {
    try {
      return JSON.parse(readFileSync(this.file(volumeId), "utf8")) as StagedVolume;
    } catch {
      return null;
    }
  }

  put(volume: StagedVolume): void {
    const file = this.file(volume.volumeId);
    writeFileSync(`${file}.tmp`, JSON.stringify(volume), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  remove(volumeId: string): void {
    rmSync(this.file(volumeId), { force: true });
  }

  all(): StagedVolume[] {
    const out: StagedVolume[] = [];
    for (const name of readdirSync(this.volumesDir)) {
      if (!name.endsWith(".json")) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.volumesDir, name), "utf8")) as StagedVolume);
      } catch {
        // A torn file cannot be: writes go through rename. Anything else here is not ours.
      }
    }
    return out;
  }
}

function key(volumeId: string): string {
  return createHash("sha256").update(volumeId).digest("hex").slice(0, 32);
}
