import { describe, expect, test } from "bun:test";
import { csiServices } from "./proto.ts";

// Field numbers are the contract with every CO (generated from the spec's own file): check a few
// that a wrong number would silently break, byte for byte, as the spec's csi.proto defines them.

const services = csiServices();
const encode = (service: "Identity" | "Controller" | "Node", method: string, message: object, side: "request" | "response") => {
  const def = services[service][method]!;
  return [...(side === "request" ? def.requestSerialize(message) : def.responseSerialize(message))];
};

describe("CSI v1 wire format", () => {
  test("request fields sit at the spec's numbers", () => {
    // NodePublishVolumeRequest.readonly = 6 (varint): tag 0x30.
    expect(encode("Node", "NodePublishVolume", { readonly: true }, "request")).toEqual([0x30, 0x01]);
    // CreateSnapshotRequest.source_volume_id = 1, name = 2.
    expect(encode("Controller", "CreateSnapshot", { source_volume_id: "v", name: "n" }, "request")).toEqual([0x0a, 1, 0x76, 0x12, 1, 0x6e]);
    // ListSnapshotsRequest.snapshot_id = 4.
    expect(encode("Controller", "ListSnapshots", { snapshot_id: "s" }, "request")).toEqual([0x22, 1, 0x73]);
    // NodeStageVolumeRequest.staging_target_path = 3.
    expect(encode("Node", "NodeStageVolume", { staging_target_path: "/" }, "request")).toEqual([0x1a, 1, 0x2f]);
  });

  test("responses: Probe's BoolValue, Snapshot's Timestamp and ready_to_use, stats' usage", () => {
    expect(encode("Identity", "Probe", { ready: { value: true } }, "response")).toEqual([0x0a, 2, 0x08, 1]);
    const snap = encode("Controller", "CreateSnapshot", { snapshot: { creation_time: { seconds: 1 }, ready_to_use: true } }, "response");
    // snapshot (1) { creation_time (4) { seconds (1) = 1 }, ready_to_use (5) = true }
    expect(snap).toEqual([0x0a, 6, 0x22, 2, 0x08, 1, 0x28, 1]);
    // VolumeUsage: available 1, total 2, used 3, unit 4.
    expect(encode("Node", "NodeGetVolumeStats", { usage: [{ available: 1, total: 2, used: 3, unit: 1 }] }, "response")).toEqual([0x0a, 8, 0x08, 1, 0x10, 2, 0x18, 3, 0x20, 1]);
  });

  test("decoding keeps snake_case names, int64 as strings and oneof cases", () => {
    const def = services.Controller.CreateVolume!;
    const bytes = def.requestSerialize({ name: "pvc", capacity_range: { required_bytes: "9007199254740993" }, volume_capabilities: [{ mount: { fs_type: "" }, access_mode: { mode: 5 } }] });
    const req = def.requestDeserialize(bytes) as { capacity_range: { required_bytes: string }; volume_capabilities: Array<{ access_type: string; access_mode: { mode: number } }> };
    expect(req.capacity_range.required_bytes).toBe("9007199254740993");
    expect(req.volume_capabilities[0]!.access_type).toBe("mount");
    expect(req.volume_capabilities[0]!.access_mode.mode).toBe(5);
  });
});
