import { mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { lstat, readdir, statfs } from "node:fs/promises";
import { join, resolve } from "node:path";
import { FsError, LIMITS } from "../types/index.ts";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "./errors.ts";
import { parseVolumeId } from "./ids.ts";
import { readOnlyMode, unsupportedCapability, type StringMap, type VolumeCapability } from "./messages.ts";
import { bindMount, mountAt, processAlive, startFuseMount, stopProcess, unmount } from "./mounter.ts";
import { targetOf, type MetadPool, type MetadTarget } from "./metad.ts";
import type { NodeState, StagedVolume } from "./node-state.ts";
import { KeyedLock, readRecord, type VolumeRecord } from "./records.ts";

// The node service. NodeStageVolume makes one FUSE mount of the volume's NoKV mount at the
// staging path (its own process, so it survives a driver restart); NodePublishVolume binds the
// volume's directory from there into the pod's target path, read-only when asked. Every mount is
// recorded in the state directory first; a restarted driver keeps the live ones and re-creates
// the ones whose process died (recover()).

export const NODE_CAPABILITIES = [1 /* STAGE_UNSTAGE_VOLUME */, 2 /* GET_VOLUME_STATS */, 4 /* VOLUME_CONDITION */] as const;

export interface NodeDeps {
  nodeId: string;
  pool: MetadPool;
  defaults: MetadTarget;
  state: NodeState;
  log: (line: string) => void;
}

/** Whether `pid` is the mount process serving `mountpoint` (and not a process that reused its pid). */
function isMountProcess(pid: number, mountpoint: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("mount") && argv.includes(mountpoint);
  } catch {
    return false;
  }
}

/**
 * Whether the FUSE mount at `path` answers (a dead server's mount fails with ENOTCONN; a hung one
 * does not answer in time).
 */
async function answers(path: string): Promise<boolean> {
  if (!mountAt(path)?.fsType.startsWith("fuse")) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), LIMITS.csiMountCheckTimeoutMs)));
  try {
    // statfs, not stat: the kernel answers stat from its attribute cache, statfs always asks.
    return await Promise.race([statfs(path).then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A PV's mountOptions arrive as mount_flags: `ro` makes the bind read-only; the others (FUSE or
 * block filesystem options) mean nothing to a bind of a NoKV mount and are ignored.
 */
function wantsReadOnly(capability: VolumeCapability | null): boolean {
  return capability?.mount?.mount_flags.includes("ro") ?? false;
}

export class NodeService {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: NodeDeps) {}

  async stage(req: { volume_id: string; staging_target_path: string; volume_capability: VolumeCapability | null; secrets: StringMap; volume_context: StringMap }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("NodeStageVolume needs a volume_id");
    if (!req.staging_target_path) throw invalidArgument("NodeStageVolume needs a staging_target_path");
    if (!req.volume_capability) throw invalidArgument("NodeStageVolume needs a volume_capability");
    const why = unsupportedCapability(req.volume_capability);
    if (why) throw invalidArgument(why);
    const ref = parseVolumeId(req.volume_id);
    if (!ref) throw notFound(`volume '${req.volume_id}' does not exist`);
    const stagingPath = resolve(req.staging_target_path);
    return this.locks.run(req.volume_id, async () => {
      const staged = this.deps.state.get(req.volume_id);
      if (staged && staged.stagingPath !== stagingPath) throw alreadyExists(`volume '${req.volume_id}' is staged at ${staged.stagingPath}, not ${stagingPath}`);
      if (staged && staged.readOnly !== readOnlyMode(req.volume_capability)) throw alreadyExists(`volume '${req.volume_id}' is staged ${staged.readOnly ? "read-only" : "read-write"} at ${stagingPath}`);
      if (staged && (await answers(stagingPath))) return {};
      const target = targetOf(req.secrets, this.deps.defaults);
      let record: VolumeRecord | null;
      try {
        record = await readRecord<VolumeRecord>(await this.deps.pool.client(target, ref.mount), ref.path);
      } catch (err) {
        if (!(err instanceof FsError && err.code === "ENOENT")) throw err;
        record = null;
      }
      if (!record) throw notFound(`volume '${req.volume_id}' does not exist`);
      const volume: StagedVolume = {
        volumeId: req.volume_id,
        stagingPath,
        server: target.server,
        ...(target.token ? { token: target.token } : {}),
        mount: ref.mount,
        path: ref.path,
        readOnly: readOnlyMode(req.volume_capability),
        capacityBytes: record.capacityBytes,
        // The previous process, if any: mountStaging stops it when it still runs (hung).
        pid: staged?.pid ?? 0,
        publishes: staged?.publishes ?? {},
      };
      await this.mountStaging(volume);
      // Staged again after its mount process died: the pods' binds still show the dead mount.
      this.rebind(volume);
      return {};
    });
  }

  private rebind(volume: StagedVolume): void {
    for (const [targetPath, publish] of Object.entries(volume.publishes)) {
      unmount(targetPath);
      mkdirSync(targetPath, { recursive: true });
      bindMount(join(volume.stagingPath, volume.path), targetPath, publish.readOnly);
    }
  }

  /** (Re)makes the FUSE mount at the staging path and records it. */
  private async mountStaging(volume: StagedVolume): Promise<void> {
    if (volume.pid > 0 && isMountProcess(volume.pid, volume.stagingPath)) await stopProcess(volume.pid);
    unmount(volume.stagingPath);
    mkdirSync(volume.stagingPath, { recursive: true });
    volume.pid = await startFuseMount({
      mountpoint: volume.stagingPath,
      server: volume.server,
      token: volume.token,
      mount: volume.mount,
      readOnly: volume.readOnly,
      logFile: this.deps.state.logFile(volume.volumeId),
    });
    this.deps.state.put(volume);
  }

  async unstage(req: { volume_id: string; staging_target_path: string }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("NodeUnstageVolume needs a volume_id");
    if (!req.staging_target_path) throw invalidArgument("NodeUnstageVolume needs a staging_target_path");
    const stagingPath = resolve(req.staging_target_path);
    return this.locks.run(req.volume_id, async () => {
      const staged = this.deps.state.get(req.volume_id);
      if (!staged || staged.stagingPath !== stagingPath) return {};
      if (isMountProcess(staged.pid, stagingPath)) await stopProcess(staged.pid);
      unmount(stagingPath);
      this.deps.state.remove(req.volume_id);
      return {};
    });
  }

  async publish(req: { volume_id: string; staging_target_path: string; target_path: string; volume_capability: VolumeCapability | null; readonly: boolean; secrets: StringMap; volume_context: StringMap }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("NodePublishVolume needs a volume_id");
    if (!req.target_path) throw invalidArgument("NodePublishVolume needs a target_path");
    if (!req.volume_capability) throw invalidArgument("NodePublishVolume needs a volume_capability");
    const why = unsupportedCapability(req.volume_capability);
    if (why) throw invalidArgument(why);
    if (!req.staging_target_path) throw failedPrecondition("NodePublishVolume needs the staging_target_path of NodeStageVolume (this driver stages)");
    const targetPath = resolve(req.target_path);
    return this.locks.run(req.volume_id, async () => {
      const staged = this.deps.state.get(req.volume_id);
      if (!staged) {
        if (!parseVolumeId(req.volume_id)) throw notFound(`volume '${req.volume_id}' does not exist`);
        throw failedPrecondition(`volume '${req.volume_id}' is not staged on this node`);
      }
      if (staged.stagingPath !== resolve(req.staging_target_path)) throw failedPrecondition(`volume '${req.volume_id}' is staged at ${staged.stagingPath}, not ${req.staging_target_path}`);
      const readOnly = req.readonly || readOnlyMode(req.volume_capability) || staged.readOnly || wantsReadOnly(req.volume_capability);
      const current = staged.publishes[targetPath];
      if (current && mountAt(targetPath)) {
        if (current.readOnly !== readOnly) throw alreadyExists(`volume '${req.volume_id}' is published at ${targetPath} ${current.readOnly ? "read-only" : "read-write"}`);
        return {};
      }
      // A mount at the target that this node has no record of is a leftover (a state directory
      // lost or restored): the CO gave this path to this volume, so it is replaced.
      unmount(targetPath);
      mkdirSync(targetPath, { recursive: true });
      bindMount(join(staged.stagingPath, staged.path), targetPath, readOnly);
      staged.publishes[targetPath] = { readOnly };
      this.deps.state.put(staged);
      return {};
    });
  }

  async unpublish(req: { volume_id: string; target_path: string }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("NodeUnpublishVolume needs a volume_id");
    if (!req.target_path) throw invalidArgument("NodeUnpublishVolume needs a target_path");
    const targetPath = resolve(req.target_path);
    return this.locks.run(req.volume_id, async () => {
      unmount(targetPath);
      try {
        rmdirSync(targetPath);
      } catch (err) {
        if ((err as { code?: string }).code !== "ENOENT") throw err;
      }
      const staged = this.deps.state.get(req.volume_id);
      if (staged && staged.publishes[targetPath]) {
        delete staged.publishes[targetPath];
        this.deps.state.put(staged);
      }
      return {};
    });
  }

  async volumeStats(req: { volume_id: string; volume_path: string; staging_target_path: string }): Promise<object> {
    if (!req.volume_id) throw invalidArgument("NodeGetVolumeStats needs a volume_id");
    if (!req.volume_path) throw invalidArgument("NodeGetVolumeStats needs a volume_path");
    const staged = this.deps.state.get(req.volume_id);
    if (!staged) throw notFound(`volume '${req.volume_id}' is not staged on this node`);
    const path = resolve(req.volume_path);
    const volumeRoot = join(staged.stagingPath, staged.path);
    if (!(path in staged.publishes) && path !== staged.stagingPath && path !== volumeRoot) throw notFound(`volume '${req.volume_id}' is not at ${req.volume_path} on this node`);
    // A mount whose process died (or hangs) is reported, not waited on: the CO's health
    // monitor shows it, and a NodeStageVolume or a driver restart re-creates it.
    if (!(await answers(staged.stagingPath))) {
      return { usage: [], volume_condition: { abnormal: true, message: `the FUSE mount of this volume at ${staged.stagingPath} does not answer (its process ${staged.pid} ended or hangs); the driver re-creates it when restarted` } };
    }
    const root = path === staged.stagingPath ? volumeRoot : path;
    const usage = await countUsage(root);
    const fs = await statfs(root);
    const total = staged.capacityBytes > 0 ? staged.capacityBytes : fs.blocks * fs.bsize;
    return {
      usage: [
        { unit: 1 /* BYTES */, used: usage.bytes, total, available: Math.max(0, total - usage.bytes) },
        { unit: 2 /* INODES */, used: usage.entries, total: fs.files, available: Math.max(0, fs.files - usage.entries) },
      ],
      volume_condition: { abnormal: false, message: "" },
    };
  }

  getCapabilities(): object {
    return { capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) };
  }

  getInfo(): object {
    return { node_id: this.deps.nodeId, max_volumes_per_node: 0 };
  }

  /**
   * After a restart: keep the mounts whose process still serves them, re-create the others, all
   * volumes at once (a call for a volume waits for its recovery).
   */
  async recover(): Promise<void> {
    await Promise.all(this.deps.state.all().map((volume) => this.locks.run(volume.volumeId, () => this.recoverOne(volume))));
  }

  private async recoverOne(volume: StagedVolume): Promise<void> {
    if (isMountProcess(volume.pid, volume.stagingPath) && (await answers(volume.stagingPath))) {
      this.deps.log(`csi: kept the mount of volume ${volume.volumeId} at ${volume.stagingPath} (pid ${volume.pid})`);
      return;
    }
    try {
      await this.mountStaging(volume);
      this.rebind(volume);
      this.deps.log(`csi: re-created the mount of volume ${volume.volumeId} at ${volume.stagingPath} and ${Object.keys(volume.publishes).length} publish(es)`);
    } catch (err) {
      this.deps.log(`csi: could not re-create the mount of volume ${volume.volumeId} at ${volume.stagingPath}: ${(err as Error).message}`);
    }
  }
}

/** Bytes and entries under `root`, counting at most LIMITS.csiStatsMaxEntries entries. */
async function countUsage(root: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const pending = [root];
  while (pending.length > 0 && entries < LIMITS.csiStatsMaxEntries) {
    const dir = pending.pop()!;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (++entries >= LIMITS.csiStatsMaxEntries) break;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) bytes += (await lstat(full).catch(() => null))?.size ?? 0;
    }
  }
  return { bytes, entries };
}
