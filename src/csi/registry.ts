import type { NoKVClient } from "../sdk/index.ts";
import { FsError, LIMITS } from "../types/index.ts";
import { alreadyExists, CsiCode, CsiError, invalidArgument, notFound } from "./errors.ts";
import { nameKey, parseSnapshotId, parseVolumeId, snapshotId } from "./ids.ts";
import type { Snapshot, StringMap } from "./messages.ts";
import { targetOf, type MetadPool, type MetadTarget } from "./metad.ts";
import { KeyedLock, readRecord, writeRecord, type SnapshotRecord, type VolumeRecord } from "./records.ts";

// CSI snapshots are NoKV snapshots of a volume's directory, taken in the volume's mount. Their
// names are unique across the driver and ListSnapshots lists them all, so each one also has an
// entry in the registry mount (one per metad, --registry-mount, "csi" by default): directory
// /snapshots/<name key> whose record holds the name, id, source volume, size and time. The
// entry directory is made first (mkdir is atomic: two creators of one name cannot both win).

const ENTRIES = "/snapshots";

export class SnapshotRegistry {
  private readonly locks = new KeyedLock();

  constructor(
    private readonly pool: MetadPool,
    readonly registryMount: string,
    private readonly defaults: MetadTarget,
  ) {}

  /** The registry mount's client: made on first CreateSnapshot; before that, null (no snapshots). */
  private registry(target: MetadTarget, create: true): Promise<NoKVClient>;
  private registry(target: MetadTarget, create: false): Promise<NoKVClient | null>;
  private async registry(target: MetadTarget, create: boolean): Promise<NoKVClient | null> {
    try {
      return await this.pool.mountClient(target, this.registryMount, create);
    } catch (err) {
      if (!create && err instanceof FsError && err.code === "ENOENT") return null;
      throw err;
    }
  }

  private async entryRecord(client: NoKVClient, entry: string): Promise<SnapshotRecord | null> {
    try {
      return await readRecord<SnapshotRecord>(client, `${ENTRIES}/${entry}`);
    } catch (err) {
      if (err instanceof FsError && err.code === "ENOENT") return null;
      throw err;
    }
  }

  /** The record of a snapshot id, or null when there is no such snapshot. */
  async get(target: MetadTarget, id: string): Promise<SnapshotRecord | null> {
    const ref = parseSnapshotId(id);
    if (!ref) return null;
    const registry = await this.registry(target, false);
    const record = registry ? await this.entryRecord(registry, ref.entry) : null;
    return record?.snapshotId === id ? record : null;
  }

  async create(req: { source_volume_id: string; name: string; secrets: StringMap; parameters: StringMap }): Promise<{ snapshot: Snapshot }> {
    if (!req.name) throw invalidArgument("CreateSnapshot needs a name");
    if (!req.source_volume_id) throw invalidArgument("CreateSnapshot needs a source_volume_id");
    if (Object.keys(req.parameters).some((k) => !k.startsWith("csi.storage.k8s.io/"))) throw invalidArgument("NoKV snapshots take no parameters");
    const target = targetOf(req.secrets, this.defaults);
    const entry = nameKey(req.name);
    return this.locks.run(entry, async () => {
      const registry = await this.registry(target, true);
      const existing = await this.entryRecord(registry, entry);
      if (existing && existing.name === req.name) {
        if (existing.sourceVolumeId !== req.source_volume_id) throw alreadyExists(`snapshot '${req.name}' exists, of volume '${existing.sourceVolumeId}'`);
        return { snapshot: toSnapshot(existing) };
      }
      const ref = parseVolumeId(req.source_volume_id);
      if (!ref) throw notFound(`volume '${req.source_volume_id}' does not exist`);
      let volume: VolumeRecord | null;
      let source: NoKVClient;
      try {
        source = await this.pool.client(target, ref.mount);
        volume = await readRecord<VolumeRecord>(source, ref.path);
      } catch (err) {
        if (err instanceof FsError && err.code === "ENOENT") volume = null;
        else throw err;
      }
      if (!volume) throw notFound(`volume '${req.source_volume_id}' does not exist`);
      await registry.mkdir(`${ENTRIES}/${entry}`, { recursive: true });
      const view = await source!.snapshot(ref.path);
      const record: SnapshotRecord = {
        name: req.name,
        snapshotId: snapshotId({ mount: ref.mount, snapshot: view.id, entry }),
        sourceVolumeId: req.source_volume_id,
        sizeBytes: volume.capacityBytes,
        createdMs: Date.now(),
      };
      await writeRecord(registry, `${ENTRIES}/${entry}`, record);
      return { snapshot: toSnapshot(record) };
    });
  }

  async delete(req: { snapshot_id: string; secrets: StringMap }): Promise<object> {
    if (!req.snapshot_id) throw invalidArgument("DeleteSnapshot needs a snapshot_id");
    const ref = parseSnapshotId(req.snapshot_id);
    if (!ref) return {};
    const target = targetOf(req.secrets, this.defaults);
    return this.locks.run(ref.entry, async () => {
      const registry = await this.registry(target, false);
      const record = registry ? await this.entryRecord(registry, ref.entry) : null;
      if (record?.snapshotId !== req.snapshot_id) return {};
      try {
        const view = await (await this.pool.client(target, ref.mount)).openSnapshot(ref.snapshot);
        await view.retire();
      } catch (err) {
        // Already retired (an earlier attempt stopped before removing the entry).
        if (!(err instanceof FsError && err.code === "ENOENT")) throw err;
      }
      await registry!.rm(`${ENTRIES}/${ref.entry}`, { recursive: true, force: true });
      return {};
    });
  }

  async list(req: { max_entries: number; starting_token: string; source_volume_id: string; snapshot_id: string; secrets: StringMap }): Promise<object> {
    if (req.max_entries < 0) throw invalidArgument(`max_entries ${req.max_entries} is negative`);
    // The token is the last entry of the previous page; entries sort by name, so a page starts
    // after it even when that entry has been deleted since.
    if (req.starting_token && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(req.starting_token)) throw new CsiError(CsiCode.ABORTED, `starting_token '${req.starting_token}' is not one ListSnapshots gave`);
    const target = targetOf(req.secrets, this.defaults);
    if (req.snapshot_id) {
      const record = await this.get(target, req.snapshot_id);
      const match = record && (!req.source_volume_id || record.sourceVolumeId === req.source_volume_id);
      return { entries: match ? [{ snapshot: toSnapshot(record) }] : [] };
    }
    const registry = await this.registry(target, false);
    if (!registry) return { entries: [], next_token: "" };
    let names: string[];
    try {
      names = ((await registry.readdir(ENTRIES)) as string[]).sort();
    } catch (err) {
      if (err instanceof FsError && err.code === "ENOENT") names = [];
      else throw err;
    }
    const after = req.starting_token ? names.filter((n) => n > req.starting_token) : names;
    const limit = req.max_entries > 0 ? req.max_entries : LIMITS.csiListSnapshotsDefaultEntries;
    const entries: Array<{ snapshot: Snapshot }> = [];
    let last = "";
    for (const name of after) {
      if (entries.length === limit) return { entries, next_token: last };
      const record = await this.entryRecord(registry, name);
      last = name;
      if (!record) continue;
      if (req.source_volume_id && record.sourceVolumeId !== req.source_volume_id) continue;
      entries.push({ snapshot: toSnapshot(record) });
    }
    return { entries, next_token: "" };
  }
}

function toSnapshot(record: SnapshotRecord): Snapshot {
  return {
    snapshot_id: record.snapshotId,
    source_volume_id: record.sourceVolumeId,
    size_bytes: record.sizeBytes,
    creation_time: { seconds: Math.floor(record.createdMs / 1000), nanos: (record.createdMs % 1000) * 1_000_000 },
    ready_to_use: true,
  };
}
