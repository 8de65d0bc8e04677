import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { isMounted, run, sh, startMount } from "../fuse/fuse-harness.ts";
import { CsiClient, cleanupMounts, csiSkipReason, startDriver, type DriverProcess } from "./csi-harness.ts";

// A volume's life on one node, as kubelet and the sidecars would drive it: create, stage (one
// FUSE mount), publish into two pod paths (one read-only), write through the pod's path and read
// it back through the SDK, stats, snapshot and restore, driver restarts (mounts kept, then
// re-created after their process died), unpublish, unstage, delete. metad requires a token that
// only the CSI secrets carry.

const skip = csiSkipReason();
if (skip) console.log(`skipping CSI end-to-end tests: ${skip}`);

const TOKEN = "csi-e2e-token";
const GIB = 1024 ** 3;
/** The pid of the (one) staged volume's mount process, from the driver's state file. */
function stagedPid(stateDir: string): number {
  const files = readdirSync(join(stateDir, "volumes")).filter((f) => f.endsWith(".json"));
  return (JSON.parse(readFileSync(join(stateDir, "volumes", files[0]!), "utf8")) as { pid: number }).pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const mountCap = { mount: { fs_type: "", mount_flags: [] }, access_mode: { mode: 1 /* SINGLE_NODE_WRITER */ } };

describe.skipIf(skip !== null)("CSI driver end to end", () => {
  let metad: MetadHarness;
  let driver: DriverProcess;
  let csi: CsiClient;
  let sdk: NoKVClient;
  let dir: string;
  let secrets: Record<string, string>;

  beforeAll(async () => {
    metad = await startMetad({ token: TOKEN });
    dir = metad.dir;
    secrets = { server: metad.url, token: TOKEN };
    driver = await startDriver({ server: metad.url, dir });
    csi = new CsiClient(driver.endpoint);
    sdk = await metad.client({ token: TOKEN } as never);
  });

  afterAll(async () => {
    csi?.close();
    await driver?.stop();
    if (driver) await cleanupMounts(dir, driver.stateDir);
    await metad?.stop();
  });

  test(
    "create, stage, publish, write through the pod path, read via the SDK, snapshot, restore, unpublish, unstage, delete",
    async () => {
      expect(((await csi.call("Identity", "Probe")) as { ready: { value: boolean } }).ready.value).toBe(true);

      const created = await csi.call<{ volume: { volume_id: string; capacity_bytes: string; volume_context: Record<string, string> } }>("Controller", "CreateVolume", {
        name: "pvc-e2e",
        capacity_range: { required_bytes: String(GIB) },
        volume_capabilities: [mountCap],
        parameters: { mount: "default", basePath: "/k8s" },
        secrets,
      });
      const volumeId = created.volume.volume_id;
      expect(volumeId).toBe("sub:default:/k8s/pvc-e2e");
      expect(Number(created.volume.capacity_bytes)).toBe(GIB);
      expect((await sdk.stat("/k8s/pvc-e2e")).isDirectory()).toBe(true);

      const staging = join(dir, "kubelet/plugins/csi.nokv.io/pv/pvc-e2e/globalmount");
      const target = join(dir, "kubelet/pods/pod-1/volumes/kubernetes.io~csi/pvc-e2e/mount");
      const readOnlyTarget = join(dir, "kubelet/pods/pod-2/volumes/kubernetes.io~csi/pvc-e2e/mount");
      let started = performance.now();
      await csi.call("Node", "NodeStageVolume", { volume_id: volumeId, staging_target_path: staging, volume_capability: mountCap, secrets, volume_context: created.volume.volume_context });
      const stageMs = performance.now() - started;
      expect(isMounted(staging)).toBe(true);
      started = performance.now();
      await csi.call("Node", "NodePublishVolume", { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: mountCap, readonly: false, secrets });
      const publishMs = performance.now() - started;
      // Floors from the same run: a bare FUSE mount process started the test harness's way,
      // and a bare bind mount of the staged tree.
      started = performance.now();
      const bare = await startMount(metad, [], { env: { NOKV_TOKEN: TOKEN } });
      const bareMountMs = performance.now() - started;
      await bare.stop();
      const floorTarget = join(dir, "bind-floor");
      started = performance.now();
      await run(`mkdir -p ${floorTarget} && mount --bind ${staging} ${floorTarget}`);
      const bindMs = performance.now() - started;
      await run(`umount ${floorTarget} && rmdir ${floorTarget}`);
      console.log(`csi e2e: NodeStageVolume ${stageMs.toFixed(0)} ms (floor: bare nokv-fs mount ready ${bareMountMs.toFixed(0)} ms); NodePublishVolume ${publishMs.toFixed(0)} ms (floor: mount --bind from a shell ${bindMs.toFixed(0)} ms)`);
      await csi.call("Node", "NodePublishVolume", { volume_id: volumeId, staging_target_path: staging, target_path: readOnlyTarget, volume_capability: mountCap, readonly: true, secrets });
      // Publishing again is a no-op; publishing the same target with another mode is a conflict.
      await csi.call("Node", "NodePublishVolume", { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: mountCap, readonly: false, secrets });
      expect(await csi.code("Node", "NodePublishVolume", { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: mountCap, readonly: true, secrets })).toBe("ALREADY_EXISTS");

      // The pod writes through its path (a spawned shell: this process serves metad).
      await run(`echo 'written by the pod' > ${target}/hello.txt && mkdir ${target}/ckpt && head -c 3000000 /dev/urandom > ${target}/ckpt/shard-0`);
      expect(await sdk.readFile("/k8s/pvc-e2e/hello.txt", "utf8")).toBe("written by the pod\n");
      expect((await sdk.stat("/k8s/pvc-e2e/ckpt/shard-0")).size).toBe(3_000_000);
      // The pod sees only its volume, and the read-only publish refuses writes.
      expect((await run(`ls ${target}`)).trim().split("\n").sort()).toEqual(["ckpt", "hello.txt"]);
      expect((await run(`cat ${readOnlyTarget}/hello.txt`)).trim()).toBe("written by the pod");
      const denied = await sh(`echo x > ${readOnlyTarget}/nope.txt`);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain("Read-only file system");

      const stats = await csi.call<{ usage: Array<{ unit: number; used: string; total: string; available: string }> }>("Node", "NodeGetVolumeStats", { volume_id: volumeId, volume_path: target });
      const bytes = stats.usage.find((u) => u.unit === 1)!;
      expect(Number(bytes.used)).toBe(3_000_000 + "written by the pod\n".length);
      expect(Number(bytes.total)).toBe(GIB);
      expect(Number(bytes.available)).toBe(GIB - Number(bytes.used));
      expect(Number(stats.usage.find((u) => u.unit === 2)!.used)).toBe(3);
      expect((stats as unknown as { volume_condition: { abnormal: boolean } }).volume_condition.abnormal).toBe(false);

      // Snapshot, change the volume, then restore the snapshot as a new volume (a clone).
      const snap = await csi.call<{ snapshot: { snapshot_id: string; source_volume_id: string; ready_to_use: boolean; size_bytes: string } }>("Controller", "CreateSnapshot", { source_volume_id: volumeId, name: "snap-e2e", secrets, parameters: {} });
      expect(snap.snapshot.ready_to_use).toBe(true);
      expect(Number(snap.snapshot.size_bytes)).toBe(GIB);
      await run(`echo 'after the snapshot' > ${target}/hello.txt`);
      const listed = await csi.call<{ entries: Array<{ snapshot: { snapshot_id: string } }> }>("Controller", "ListSnapshots", { source_volume_id: volumeId, secrets });
      expect(listed.entries.map((e) => e.snapshot.snapshot_id)).toEqual([snap.snapshot.snapshot_id]);
      const restored = await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", {
        name: "pvc-restored",
        volume_capabilities: [mountCap],
        parameters: { mount: "default", basePath: "/k8s" },
        secrets,
        volume_content_source: { snapshot: { snapshot_id: snap.snapshot.snapshot_id } },
      });
      expect(await sdk.readFile("/k8s/pvc-restored/hello.txt", "utf8")).toBe("written by the pod\n");
      expect(await sdk.readFile("/k8s/pvc-e2e/hello.txt", "utf8")).toBe("after the snapshot\n");

      // A driver killed outright leaves its mounts serving; the new one keeps them.
      await driver.kill();
      driver = await startDriver({ server: metad.url, dir, stateDir: driver.stateDir });
      csi.close();
      csi = new CsiClient(driver.endpoint);
      expect(driver.output()).toContain(`kept the mount of volume ${volumeId}`);
      expect((await run(`cat ${target}/hello.txt`)).trim()).toBe("after the snapshot");

      // A mount whose process died shows as an abnormal volume; one that died with the driver
      // is re-created, with its publishes.
      const pid = stagedPid(driver.stateDir);
      process.kill(pid, "SIGKILL");
      while (alive(pid)) await Bun.sleep(10);
      const condition = await csi.call<{ volume_condition: { abnormal: boolean; message: string } }>("Node", "NodeGetVolumeStats", { volume_id: volumeId, volume_path: target });
      expect(condition.volume_condition.abnormal).toBe(true);
      expect(condition.volume_condition.message).toContain("does not answer");
      await driver.kill();
      driver = await startDriver({ server: metad.url, dir, stateDir: driver.stateDir });
      csi.close();
      csi = new CsiClient(driver.endpoint);
      expect(driver.output()).toContain(`re-created the mount of volume ${volumeId}`);
      const remadePid = stagedPid(driver.stateDir);
      expect(remadePid).not.toBe(pid);
      expect((await run(`cat ${target}/hello.txt`)).trim()).toBe("after the snapshot");
      expect((await sh(`echo x > ${readOnlyTarget}/nope.txt`)).code).not.toBe(0);

      for (const t of [target, readOnlyTarget]) {
        await csi.call("Node", "NodeUnpublishVolume", { volume_id: volumeId, target_path: t });
        expect(isMounted(t)).toBe(false);
        expect(existsSync(t)).toBe(false);
      }
      await csi.call("Node", "NodeUnstageVolume", { volume_id: volumeId, staging_target_path: staging });
      expect(isMounted(staging)).toBe(false);
      expect(alive(remadePid)).toBe(false);

      await csi.call("Controller", "DeleteSnapshot", { snapshot_id: snap.snapshot.snapshot_id, secrets });
      expect((await csi.call<{ entries: unknown[] }>("Controller", "ListSnapshots", { secrets })).entries).toEqual([]);
      await csi.call("Controller", "DeleteVolume", { volume_id: volumeId, secrets });
      await csi.call("Controller", "DeleteVolume", { volume_id: restored.volume.volume_id, secrets });
      expect(await sdk.exists("/k8s/pvc-e2e")).toBe(false);
      expect(await sdk.exists("/k8s/pvc-restored")).toBe(false);
      // Deleting again is still success.
      await csi.call("Controller", "DeleteVolume", { volume_id: volumeId, secrets });

      // The token reached metad through the secrets only, and was never logged.
      expect(driver.output()).not.toContain(TOKEN);
    },
    120_000,
  );

  test(
    "a whole-mount volume (layout=mount) is staged and published the same way; mount_flags ro makes the bind read-only",
    async () => {
      const created = await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", { name: "agents", volume_capabilities: [mountCap], parameters: { layout: "mount" }, secrets });
      const volumeId = created.volume.volume_id;
      expect(volumeId).toBe("mnt:agents");
      const staging = join(dir, "stage-agents");
      const target = join(dir, "pods/pod-3/agents");
      const roTarget = join(dir, "pods/pod-4/agents");
      const roCap = { ...mountCap, mount: { fs_type: "", mount_flags: ["ro", "noatime"] } };
      await csi.call("Node", "NodeStageVolume", { volume_id: volumeId, staging_target_path: staging, volume_capability: mountCap, secrets });
      // Staged read-write: staging it again read-only, or at another path, is a conflict.
      const readerCap = { ...mountCap, access_mode: { mode: 3 /* MULTI_NODE_READER_ONLY */ } };
      expect(await csi.code("Node", "NodeStageVolume", { volume_id: volumeId, staging_target_path: staging, volume_capability: readerCap, secrets })).toBe("ALREADY_EXISTS");
      expect(await csi.code("Node", "NodeStageVolume", { volume_id: volumeId, staging_target_path: `${staging}-2`, volume_capability: mountCap, secrets })).toBe("ALREADY_EXISTS");
      await csi.call("Node", "NodePublishVolume", { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: mountCap, readonly: false, secrets });
      await csi.call("Node", "NodePublishVolume", { volume_id: volumeId, staging_target_path: staging, target_path: roTarget, volume_capability: roCap, readonly: false, secrets });
      await run(`mkdir ${target}/session-1 && echo plan > ${target}/session-1/plan.md`);
      const agents = await metad.client({ mount: "agents", token: TOKEN } as never);
      expect(await agents.readFile("/session-1/plan.md", "utf8")).toBe("plan\n");
      expect((await run(`cat ${roTarget}/session-1/plan.md`)).trim()).toBe("plan");
      expect((await sh(`touch ${roTarget}/x`)).code).not.toBe(0);
      // Stats of a path the volume is not published at: NOT_FOUND.
      expect(await csi.code("Node", "NodeGetVolumeStats", { volume_id: volumeId, volume_path: join(dir, "elsewhere") })).toBe("NOT_FOUND");
      for (const t of [target, roTarget]) await csi.call("Node", "NodeUnpublishVolume", { volume_id: volumeId, target_path: t });
      await csi.call("Node", "NodeUnstageVolume", { volume_id: volumeId, staging_target_path: staging });
      expect(isMounted(staging)).toBe(false);
      await csi.call("Controller", "DeleteVolume", { volume_id: volumeId, secrets });
      expect(await agents.readdir("/")).toEqual([]);
    },
    60_000,
  );
});
