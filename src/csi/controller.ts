import { posix } from "node:path";
import type { NoKVClient } from "../sdk/index.ts";
import { FsError } from "../types/index.ts";
import { alreadyExists, CsiCode, CsiError, invalidArgument, notFound } from "./errors.ts";
import { nameKey, parseSnapshotId, parseVolumeId, volumeId, type VolumeRef } from "./ids.ts";
import { bytesOf, unsupportedCapability, type CapacityRange, type ContentSource, type StringMap, type Volume, type VolumeCapability } from "./messages.ts";
import { targetOf, type MetadPool, type MetadTarget } from "./metad.ts";
import { KeyedLock, readRecord, removeRecord, writeRecord, type VolumeRecord } from "./records.ts";
import type { SnapshotRegistry } from "./registry.ts";

// The controller service: volumes are directories of a NoKV mount (layout=subdir, the default)
// or whole mounts (layout=mount), chosen by StorageClass parameters. Capacity is recorded, not
// enforced (NoKV has no quotas): it is what the CO asked for, reported back and in snapshots.
// A volume from a snapshot or another volume is a clone: metadata only, no byte copied.

export const CONTROLLER_CAPABILITIES = ["CREATE_DELETE_VOLUME", "CREATE_DELETE_SNAPSHOT", "LIST_SNAPSHOTS", "CLONE_VOLUME", "EXPAND_VOLUME"] as const;

/** StorageClass parameters; keys under csi.storage.k8s.io/ belong to the sidecars and are ignored. */
export interface VolumeParams {
  layout: "subdir" | "mount";
  mount: string;
  basePath: string;
}

const PARAM_KEYS = new Set(["layout", "mount", "basePath"]);
const DEFAULT_BASE_PATH = "/volumes";

export function parseParams(params: StringMap): VolumeParams {
  for (const key of Object.keys(params)) {
    if (!PARAM_KEYS.has(key) && !key.startsWith("csi.storage.k8s.io/")) throw invalidArgument(`unknown parameter '${key}' (NoKV reads layout, mount, basePath)`);
  }
  const layout = params.layout || "subdir";
  if (layout !== "subdir" && layout !== "mount") throw invalidArgument(`parameter layout '${layout}' is not subdir or mount`);
  if (layout === "mount" && (params.mount || params.basePath)) throw invalidArgument("layout=mount makes each volume its own mount: mount and basePath do not apply");
  const basePath = posix.normalize(params.basePath || DEFAULT_BASE_PATH);
  if (!basePath.startsWith("/") || basePath === "/" || basePath.split("/").includes("..")) throw invalidArgument(`parameter basePath '${params.basePath}' is not an absolute directory below /`);
  return { layout, mount: params.mount || "default", basePath: basePath.replace(/\/$/, "") };
}

/** The capacity to record for a range: what was required, else the limit, else 0 (unspecified). */
export function capacityFor(range: CapacityRange | null | undefined): number {
  const required = bytesOf(range?.required_bytes);
  const limit = bytesOf(range?.limit_bytes);
  if (limit > 0 && required > limit) throw new CsiError(CsiCode.OUT_OF_RANGE, `required_bytes ${required} is above limit_bytes ${limit}`);
  return required > 0 ? required : limit;
}

function fits(capacity: number, range: CapacityRange | null | undefined): boolean {
  const required = bytesOf(range?.required_bytes);
  const limit = bytesOf(range?.limit_bytes);
  return capacity >= required && (limit === 0 || capacity <= limit);
}

export interface ControllerDeps {
  pool: MetadPool;
  defaults: MetadTarget;
  registry: SnapshotRegistry;
}

export class ControllerService {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: ControllerDeps) {}

  private target(secrets: StringMap | undefined): MetadTarget {
    return targetOf(secrets, this.deps.defaults);
  }

  async createVolume(req: { name: string; capacity_range: CapacityRange | null; volume_capabilities: VolumeCapability[]; parameters: StringMap; secrets: StringMap; volume_content_source: ContentSource | null }): Promise<{ volume: Volume }> {
    if (!req.name) throw invalidArgument("CreateVolume needs a name");
    if (req.volume_capabilities.length === 0) throw invalidArgument("CreateVolume needs volume_capabilities");
    for (const cap of req.volume_capabilities) {
      const why = unsupportedCapability(cap);
      if (why) throw invalidArgument(why);
    }
    const params = parseParams(req.parameters);
    const capacityBytes = capacityFor(req.capacity_range);
    const target = this.target(req.secrets);
    const key = nameKey(req.name);
    const ref: VolumeRef = params.layout === "mount" ? { layout: "mount", mount: key, path: "/" } : { layout: "subdir", mount: params.mount, path: `${params.basePath}/${key}` };
    if (ref.layout === "mount" && (ref.mount === this.deps.registry.registryMount || ref.mount === "default")) {
      throw invalidArgument(`volume name '${req.name}' would be the NoKV mount '${ref.mount}', which is reserved`);
    }
    const id = volumeId(ref);
    const source = contentSourceOf(req.volume_content_source);
    return this.locks.run(`volume:${id}`, async () => {
      const client = await this.deps.pool.mountClient(target, ref.mount, ref.layout === "mount").catch((err) => {
        if (err instanceof FsError && err.code === "ENOENT") throw invalidArgument(`the StorageClass's mount '${ref.mount}' does not exist on metad (create it: nokv-fs mounts create ${ref.mount})`);
        throw err;
      });
      const existing = await readRecord<VolumeRecord>(client, ref.path).catch((err) => (err instanceof FsError && err.code === "ENOENT" ? null : Promise.reject(err)));
      if (existing && existing.name === req.name) {
        if (!fits(existing.capacityBytes, req.capacity_range)) throw alreadyExists(`volume '${req.name}' exists with ${existing.capacityBytes} bytes, outside the requested range`);
        if (JSON.stringify(existing.source ?? {}) !== JSON.stringify(source ?? {})) throw alreadyExists(`volume '${req.name}' exists from another content source`);
        return { volume: this.volume(id, ref, existing) };
      }
      if (!source) await this.refuseForeign(client, ref, req.name);
      if (source) await this.fill(client, target, ref, source);
      else if (ref.layout === "subdir") await client.mkdir(ref.path, { recursive: true });
      const record: VolumeRecord = { name: req.name, capacityBytes, createdMs: Date.now(), ...(source ? { source } : {}) };
      await writeRecord(client, ref.path, record);
      return { volume: this.volume(id, ref, record) };
    });
  }

  /**
   * A directory or mount that holds data but no record of this volume is someone else's: taking
   * it would hand it to a pod and delete it with the volume. An empty one (a creation that
   * stopped before its record, or a released whole-mount volume) is taken.
   */
  private async refuseForeign(client: NoKVClient, ref: VolumeRef, name: string): Promise<void> {
    let entries: string[];
    try {
      entries = (await client.readdir(ref.path)) as string[];
    } catch (err) {
      if (err instanceof FsError && err.code === "ENOENT") return;
      throw err;
    }
    if (entries.length > 0) throw alreadyExists(`${ref.layout === "mount" ? `NoKV mount '${ref.mount}'` : `directory ${ref.path} of mount '${ref.mount}'`} already holds data that is not volume '${name}'`);
  }

  /** Makes `ref` a clone of the content source (same mount: NoKV clones within a mount). */
  private async fill(client: NoKVClient, target: MetadTarget, ref: VolumeRef, source: { snapshot?: string; volume?: string }): Promise<void> {
    let from: { path: string; snapshot?: number; mount: string };
    if (source.snapshot) {
      const snap = parseSnapshotId(source.snapshot);
      const record = snap ? await this.deps.registry.get(target, source.snapshot) : null;
      if (!snap || !record) throw notFound(`snapshot '${source.snapshot}' does not exist`);
      const origin = parseVolumeId(record.sourceVolumeId);
      if (!origin) throw notFound(`snapshot '${source.snapshot}' names no volume of this driver`);
      from = { mount: snap.mount, path: origin.path, snapshot: snap.snapshot };
    } else {
      const origin = parseVolumeId(source.volume!);
      if (!origin || !(await this.exists(target, origin))) throw notFound(`volume '${source.volume}' does not exist`);
      from = { mount: origin.mount, path: origin.path };
    }
    if (ref.layout === "mount" || from.mount !== ref.mount || from.path === "/") {
      throw invalidArgument(`a volume is cloned within its NoKV mount: the source is in mount '${from.mount}'${from.path === "/" ? " (a whole-mount volume)" : ""}, the new volume would be ${ref.layout === "mount" ? "a mount of its own" : `in mount '${ref.mount}'`}; use a StorageClass with layout=subdir and mount=${from.mount}`);
    }
    await client.mkdir(posix.dirname(ref.path), { recursive: true });
    try {
      await client.clone(from.path, ref.path, from.snapshot === undefined ? {} : { snapshot: from.snapshot });
    } catch (err) {
      // A clone left by an earlier attempt that failed before its record was written.
      if (!(err instanceof FsError && err.code === "EEXIST")) throw err;
    }
  }

  private volume(id: string, ref: VolumeRef, record: VolumeRecord): Volume {
    const contentSource = record.source?.snapshot ? { snapshot: { snapshot_id: record.source.snapshot } } : record.source?.volume ? { volume: { volume_id: record.source.volume } } : null;
    return {
      volume_id: id,
      capacity_bytes: record.capacityBytes,
      volume_context: { layout: ref.layout, mount: ref.mount, path: ref.path },
      ...(contentSource ? { content_source: contentSource } : {}),
    };
  }

  /** The volume's record, or null when the id is not a volume of this driver or it is gone. */
  async record(target: MetadTarget, ref: VolumeRef): Promise<VolumeRecord | null> {
    try {
      return await readRecord<VolumeRecord>(await this.deps.pool.client(target, ref.mount), ref.path);
    } catch (err) {
      if (err instanceof FsError && err.code === "ENOENT") return null;
      throw err;
    }
  }

  private async exists(target: MetadTarget, ref: VolumeRef): Promise<boolean> {
    return (await this.record(target, ref)) !== null;
  }

  async deleteVolume(req: { volume_id: string; secrets: StringMap }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("DeleteVolume needs a volume_id");
    const ref = parseVolumeId(req.volume_id);
    // Not one of ours (or malformed): nothing to delete, which is success.
    if (!ref) return {};
    const target = this.target(req.secrets);
    return this.locks.run(`volume:${req.volume_id}`, async () => {
      let client: NoKVClient;
      try {
        client = await this.deps.pool.client(target, ref.mount);
      } catch (err) {
        if (err instanceof FsError && err.code === "ENOENT") return {};
        throw err;
      }
      if (ref.layout === "subdir") {
        await client.rm(ref.path, { recursive: true, force: true });
        return {};
      }
      // NoKV has no mount removal: a whole-mount volume is emptied and released, and a later
      // CreateVolume of the same name takes the empty mount again.
      for (const name of (await client.readdir("/")) as string[]) await client.rm(`/${name}`, { recursive: true, force: true });
      await removeRecord(client, "/");
      return {};
    });
  }

  async validateVolumeCapabilities(req: { volume_id: string; volume_context: StringMap; volume_capabilities: VolumeCapability[]; parameters: StringMap; secrets: StringMap }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("ValidateVolumeCapabilities needs a volume_id");
    if (req.volume_capabilities.length === 0) throw invalidArgument("ValidateVolumeCapabilities needs volume_capabilities");
    const ref = parseVolumeId(req.volume_id);
    if (!ref || !(await this.exists(this.target(req.secrets), ref))) throw notFound(`volume '${req.volume_id}' does not exist`);
    for (const cap of req.volume_capabilities) {
      const why = unsupportedCapability(cap);
      if (why) return { message: why };
    }
    return { confirmed: { volume_context: req.volume_context, volume_capabilities: req.volume_capabilities, parameters: req.parameters } };
  }

  async expandVolume(req: { volume_id: string; capacity_range: CapacityRange | null; secrets: StringMap }): Promise<{ capacity_bytes: number; node_expansion_required: boolean }> {
    if (!req.volume_id) throw invalidArgument("ControllerExpandVolume needs a volume_id");
    if (!req.capacity_range) throw invalidArgument("ControllerExpandVolume needs a capacity_range");
    const wanted = capacityFor(req.capacity_range);
    const ref = parseVolumeId(req.volume_id);
    const target = this.target(req.secrets);
    return this.locks.run(`volume:${req.volume_id}`, async () => {
      const record = ref ? await this.record(target, ref) : null;
      if (!ref || !record) throw notFound(`volume '${req.volume_id}' does not exist`);
      // Recorded capacity only grows; a smaller request is already satisfied.
      if (wanted > record.capacityBytes) await writeRecord(await this.deps.pool.client(target, ref.mount), ref.path, { ...record, capacityBytes: wanted });
      return { capacity_bytes: Math.max(wanted, record.capacityBytes), node_expansion_required: false };
    });
  }

  getCapabilities(): object {
    return { capabilities: CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type: RPC_TYPES[type] } })) };
  }
}

const RPC_TYPES: Record<(typeof CONTROLLER_CAPABILITIES)[number], number> = {
  CREATE_DELETE_VOLUME: 1,
  CREATE_DELETE_SNAPSHOT: 5,
  LIST_SNAPSHOTS: 6,
  CLONE_VOLUME: 7,
  EXPAND_VOLUME: 9,
};

function contentSourceOf(source: ContentSource | null): { snapshot?: string; volume?: string } | null {
  if (!source) return null;
  if (source.snapshot) {
    if (!source.snapshot.snapshot_id) throw invalidArgument("volume_content_source.snapshot needs a snapshot_id");
    return { snapshot: source.snapshot.snapshot_id };
  }
  if (source.volume) {
    if (!source.volume.volume_id) throw invalidArgument("volume_content_source.volume needs a volume_id");
    return { volume: source.volume.volume_id };
  }
  return null;
}
