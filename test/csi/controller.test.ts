import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { CsiClient, startDriver, type DriverProcess } from "./csi-harness.ts";

// The controller service alone (no FUSE, no root): whole-mount volumes, clones, expansion,
// readiness, and the gRPC status the spec names for each kind of bad request.

const TOKEN = "csi-controller-token";
const cap = { mount: { fs_type: "", mount_flags: [] }, access_mode: { mode: 5 /* MULTI_NODE_MULTI_WRITER */ } };

describe("CSI controller", () => {
  let metad: MetadHarness;
  let driver: DriverProcess;
  let csi: CsiClient;
  let sdk: NoKVClient;
  let secrets: Record<string, string>;

  beforeAll(async () => {
    metad = await startMetad({ token: TOKEN });
    secrets = { server: metad.url, token: TOKEN };
    driver = await startDriver({ server: metad.url, dir: metad.dir, mode: "controller" });
    csi = new CsiClient(driver.endpoint);
    sdk = await metad.client({ token: TOKEN } as never);
  });

  afterAll(async () => {
    csi?.close();
    await driver?.stop();
    await metad?.stop();
  });

  test("identity: plugin info, controller capability, and ready while metad answers", async () => {
    expect(await csi.call("Identity", "GetPluginInfo")).toMatchObject({ name: "csi.nokv.io", vendor_version: "0.1.0" });
    const caps = await csi.call<{ capabilities: Array<{ service?: { type: number } }> }>("Identity", "GetPluginCapabilities");
    expect(caps.capabilities.some((c) => c.service?.type === 1)).toBe(true);
    expect((await csi.call<{ ready: { value: boolean } }>("Identity", "Probe")).ready.value).toBe(true);
    const controllerCaps = await csi.call<{ capabilities: Array<{ rpc: { type: number } }> }>("Controller", "ControllerGetCapabilities");
    expect(controllerCaps.capabilities.map((c) => c.rpc.type).sort((a, b) => a - b)).toEqual([1, 5, 6, 7, 9]);
    // No snapshot yet: an empty list, and the registry mount is not made just to list.
    expect(await csi.call("Controller", "ListSnapshots", { secrets })).toEqual({ entries: [], next_token: "" });
    expect((await sdk.listMounts()).map((m) => m.name)).not.toContain("csi");
    // The node service is not served in controller mode.
    expect(await csi.code("Node", "NodeGetInfo")).toBe("UNIMPLEMENTED");
  });

  test("Probe answers not ready while metad is unreachable", async () => {
    const down = await startDriver({ server: "nokv://127.0.0.1:1", mode: "controller" });
    const client = new CsiClient(down.endpoint);
    try {
      expect((await client.call<{ ready: { value: boolean } }>("Identity", "Probe")).ready.value).toBe(false);
      expect(await client.code("Controller", "CreateVolume", { name: "v", volume_capabilities: [cap] })).toBe("UNAVAILABLE");
    } finally {
      client.close();
      await down.stop();
    }
  });

  test("layout=mount: a volume is a whole NoKV mount, emptied and released on delete", async () => {
    const req = { name: "team-a", volume_capabilities: [cap], parameters: { layout: "mount" }, secrets, capacity_range: { required_bytes: "1000" } };
    const { volume } = await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", req);
    expect(volume.volume_id).toBe("mnt:team-a");
    expect((await sdk.listMounts()).map((m) => m.name)).toContain("team-a");
    const team = await metad.client({ mount: "team-a", token: TOKEN } as never);
    await team.writeFile("/notes.txt", "hi");
    // Idempotent by name; a different size under the same name is a conflict.
    expect((await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", req)).volume.volume_id).toBe("mnt:team-a");
    expect(await csi.code("Controller", "CreateVolume", { ...req, capacity_range: { required_bytes: "2000", limit_bytes: "2000" } })).toBe("ALREADY_EXISTS");
    // Cloning works within a mount only: a whole-mount volume cannot be restored elsewhere.
    expect(await csi.code("Controller", "CreateVolume", { name: "team-b", volume_capabilities: [cap], secrets, volume_content_source: { volume: { volume_id: volume.volume_id } } })).toBe("INVALID_ARGUMENT");
    await csi.call("Controller", "DeleteVolume", { volume_id: volume.volume_id, secrets });
    expect(await team.readdir("/")).toEqual([]);
    expect(await csi.code("Controller", "ValidateVolumeCapabilities", { volume_id: volume.volume_id, volume_capabilities: [cap], secrets })).toBe("NOT_FOUND");
    // The released mount is taken again by the next volume of that name, at its new size.
    const again = await csi.call<{ volume: { capacity_bytes: string } }>("Controller", "CreateVolume", { ...req, capacity_range: { required_bytes: "5000" } });
    expect(Number(again.volume.capacity_bytes)).toBe(5000);
    await csi.call("Controller", "DeleteVolume", { volume_id: volume.volume_id, secrets });
  });

  test("concurrent CreateVolume and CreateSnapshot calls of one name make one volume and one snapshot", async () => {
    const req = { name: "racy", volume_capabilities: [cap], secrets, capacity_range: { required_bytes: "100" } };
    const volumes = await Promise.all(Array.from({ length: 8 }, () => csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", req)));
    expect(new Set(volumes.map((v) => v.volume.volume_id)).size).toBe(1);
    const volumeId = volumes[0]!.volume.volume_id;
    const snaps = await Promise.all(Array.from({ length: 8 }, () => csi.call<{ snapshot: { snapshot_id: string } }>("Controller", "CreateSnapshot", { name: "racy-snap", source_volume_id: volumeId, secrets, parameters: {} })));
    expect(new Set(snaps.map((s) => s.snapshot.snapshot_id)).size).toBe(1);
    expect((await sdk.listSnapshots()).length).toBe(1);
    await csi.call("Controller", "DeleteSnapshot", { snapshot_id: snaps[0]!.snapshot.snapshot_id, secrets });
    expect((await sdk.listSnapshots()).length).toBe(0);
    await csi.call("Controller", "DeleteVolume", { volume_id: volumeId, secrets });
  });

  test("a volume cloned from another copies its content; expansion grows the recorded capacity", async () => {
    const params = { basePath: "/clones" };
    const src = await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", { name: "src", volume_capabilities: [cap], parameters: params, secrets });
    await sdk.writeFile("/clones/src/model.bin", "weights");
    const copy = await csi.call<{ volume: { volume_id: string; content_source: { volume: { volume_id: string } } } }>("Controller", "CreateVolume", {
      name: "copy",
      volume_capabilities: [cap],
      parameters: params,
      secrets,
      volume_content_source: { volume: { volume_id: src.volume.volume_id } },
    });
    expect(copy.volume.content_source.volume.volume_id).toBe(src.volume.volume_id);
    expect(await sdk.readFile("/clones/copy/model.bin", "utf8")).toBe("weights");
    await sdk.writeFile("/clones/copy/model.bin", "tuned");
    expect(await sdk.readFile("/clones/src/model.bin", "utf8")).toBe("weights");

    const grown = await csi.call<{ capacity_bytes: string; node_expansion_required: boolean }>("Controller", "ControllerExpandVolume", { volume_id: copy.volume.volume_id, capacity_range: { required_bytes: "4096" }, secrets });
    expect(Number(grown.capacity_bytes)).toBe(4096);
    expect(grown.node_expansion_required).toBe(false);
    for (const v of [src, copy]) await csi.call("Controller", "DeleteVolume", { volume_id: v.volume.volume_id, secrets });
  });

  test("bad requests get the status the spec names", async () => {
    const base = { name: "bad", volume_capabilities: [cap], secrets };
    expect(await csi.code("Controller", "CreateVolume", { ...base, parameters: { replicas: "3" } })).toBe("INVALID_ARGUMENT");
    expect(await csi.code("Controller", "CreateVolume", { ...base, parameters: { layout: "lvm" } })).toBe("INVALID_ARGUMENT");
    expect(await csi.code("Controller", "CreateVolume", { ...base, volume_capabilities: [{ block: {}, access_mode: { mode: 1 } }] })).toBe("INVALID_ARGUMENT");
    expect(await csi.code("Controller", "CreateVolume", { ...base, secrets: { ...secrets, password: "x" } })).toBe("INVALID_ARGUMENT");
    expect(await csi.code("Controller", "CreateVolume", { ...base, capacity_range: { required_bytes: "10", limit_bytes: "5" } })).toBe("OUT_OF_RANGE");
    expect(await csi.code("Controller", "CreateVolume", { ...base, volume_content_source: { snapshot: { snapshot_id: "snap:default:999:nope" } } })).toBe("NOT_FOUND");
    expect(await csi.code("Controller", "CreateVolume", { ...base, secrets: { ...secrets, token: "wrong" } })).toBe("PERMISSION_DENIED");
    expect(await csi.code("Controller", "ListSnapshots", { starting_token: "not a token!", secrets })).toBe("ABORTED");
    expect(await csi.code("Controller", "CreateSnapshot", { name: "s", source_volume_id: "sub:default:/volumes/none", secrets })).toBe("NOT_FOUND");
    expect(await csi.code("Controller", "ControllerExpandVolume", { volume_id: "mnt:none", capacity_range: { required_bytes: "1" }, secrets })).toBe("NOT_FOUND");
    // Data that is not a CSI volume is never taken over (nor deleted with one later).
    await sdk.mkdir("/volumes/precious", { recursive: true });
    await sdk.writeFile("/volumes/precious/data", "keep");
    expect(await csi.code("Controller", "CreateVolume", { ...base, name: "precious" })).toBe("ALREADY_EXISTS");
    await sdk.createMount("datasets");
    await (await metad.client({ mount: "datasets", token: TOKEN } as never)).writeFile("/train.csv", "x");
    expect(await csi.code("Controller", "CreateVolume", { ...base, name: "datasets", parameters: { layout: "mount" } })).toBe("ALREADY_EXISTS");
    for (const reserved of ["csi", "default"]) expect(await csi.code("Controller", "CreateVolume", { ...base, name: reserved, parameters: { layout: "mount" } })).toBe("INVALID_ARGUMENT");
    // A capability NoKV cannot serve is not confirmed, with the reason.
    const vol = await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", base);
    const answer = await csi.call<{ confirmed: unknown; message: string }>("Controller", "ValidateVolumeCapabilities", { volume_id: vol.volume.volume_id, volume_capabilities: [{ block: {}, access_mode: { mode: 1 } }], secrets });
    expect(answer.confirmed).toBeNull();
    expect(answer.message).toContain("block");
    await csi.call("Controller", "DeleteVolume", { volume_id: vol.volume.volume_id, secrets });
  });
});
