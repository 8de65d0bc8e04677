import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";

// The part of the CSI v1 protocol (container-storage-interface spec v1.8.0, package csi.v1)
// this driver speaks, written from the specification as protobufjs reflection JSON: names, field
// numbers and enum values follow spec.md exactly, since the CO (kubelet, the sidecars,
// csi-sanity) is generated from the spec's own file. Messages and fields the driver never reads
// or sends are left out; protobuf skips unknown fields, so a CO sending them is still understood.
// Kept in code (not a .proto file) so the bundled CLI needs no file beside it.

type Fields = Record<string, { type: string; id: number; rule?: "repeated"; keyType?: string }>;
const str = (id: number) => ({ type: "string", id });
const map = (id: number) => ({ type: "string", keyType: "string", id });
const msg = (fields: Fields = {}, oneofs?: Record<string, { oneof: string[] }>) => ({ fields, ...(oneofs ? { oneofs } : {}) });
const rpc = (request: string, response: string) => ({ requestType: request, responseType: response });

const CSI_V1 = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            // Well-known types, wire-identical to google/protobuf/{wrappers,timestamp}.proto.
            BoolValue: msg({ value: { type: "bool", id: 1 } }),
            Timestamp: msg({ seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } }),
          },
        },
      },
    },
    csi: {
      nested: {
        v1: {
          nested: {
            Identity: {
              methods: {
                GetPluginInfo: rpc("GetPluginInfoRequest", "GetPluginInfoResponse"),
                GetPluginCapabilities: rpc("GetPluginCapabilitiesRequest", "GetPluginCapabilitiesResponse"),
                Probe: rpc("ProbeRequest", "ProbeResponse"),
              },
            },
            Controller: {
              methods: {
                CreateVolume: rpc("CreateVolumeRequest", "CreateVolumeResponse"),
                DeleteVolume: rpc("DeleteVolumeRequest", "DeleteVolumeResponse"),
                ControllerPublishVolume: rpc("ControllerPublishVolumeRequest", "ControllerPublishVolumeResponse"),
                ControllerUnpublishVolume: rpc("ControllerUnpublishVolumeRequest", "ControllerUnpublishVolumeResponse"),
                ValidateVolumeCapabilities: rpc("ValidateVolumeCapabilitiesRequest", "ValidateVolumeCapabilitiesResponse"),
                ListVolumes: rpc("ListVolumesRequest", "ListVolumesResponse"),
                GetCapacity: rpc("GetCapacityRequest", "GetCapacityResponse"),
                ControllerGetCapabilities: rpc("ControllerGetCapabilitiesRequest", "ControllerGetCapabilitiesResponse"),
                CreateSnapshot: rpc("CreateSnapshotRequest", "CreateSnapshotResponse"),
                DeleteSnapshot: rpc("DeleteSnapshotRequest", "DeleteSnapshotResponse"),
                ListSnapshots: rpc("ListSnapshotsRequest", "ListSnapshotsResponse"),
                ControllerExpandVolume: rpc("ControllerExpandVolumeRequest", "ControllerExpandVolumeResponse"),
              },
            },
            Node: {
              methods: {
                NodeStageVolume: rpc("NodeStageVolumeRequest", "NodeStageVolumeResponse"),
                NodeUnstageVolume: rpc("NodeUnstageVolumeRequest", "NodeUnstageVolumeResponse"),
                NodePublishVolume: rpc("NodePublishVolumeRequest", "NodePublishVolumeResponse"),
                NodeUnpublishVolume: rpc("NodeUnpublishVolumeRequest", "NodeUnpublishVolumeResponse"),
                NodeGetVolumeStats: rpc("NodeGetVolumeStatsRequest", "NodeGetVolumeStatsResponse"),
                NodeExpandVolume: rpc("NodeExpandVolumeRequest", "NodeExpandVolumeResponse"),
                NodeGetCapabilities: rpc("NodeGetCapabilitiesRequest", "NodeGetCapabilitiesResponse"),
                NodeGetInfo: rpc("NodeGetInfoRequest", "NodeGetInfoResponse"),
              },
            },

            // Identity
            GetPluginInfoRequest: msg(),
            GetPluginInfoResponse: msg({ name: str(1), vendor_version: str(2), manifest: map(3) }),
            GetPluginCapabilitiesRequest: msg(),
            GetPluginCapabilitiesResponse: msg({ capabilities: { type: "PluginCapability", id: 1, rule: "repeated" } }),
            PluginCapability: {
              ...msg({ service: { type: "Service", id: 1 }, volume_expansion: { type: "VolumeExpansion", id: 2 } }, { type: { oneof: ["service", "volume_expansion"] } }),
              nested: {
                Service: {
                  ...msg({ type: { type: "Type", id: 1 } }),
                  nested: { Type: { values: { UNKNOWN: 0, CONTROLLER_SERVICE: 1, VOLUME_ACCESSIBILITY_CONSTRAINTS: 2, GROUP_CONTROLLER_SERVICE: 3 } } },
                },
                VolumeExpansion: {
                  ...msg({ type: { type: "Type", id: 1 } }),
                  nested: { Type: { values: { UNKNOWN: 0, ONLINE: 1, OFFLINE: 2 } } },
                },
              },
            },
            ProbeRequest: msg(),
            ProbeResponse: msg({ ready: { type: "google.protobuf.BoolValue", id: 1 } }),

            // Volumes
            CapacityRange: msg({ required_bytes: { type: "int64", id: 1 }, limit_bytes: { type: "int64", id: 2 } }),
            VolumeCapability: {
              ...msg({ block: { type: "BlockVolume", id: 1 }, mount: { type: "MountVolume", id: 2 }, access_mode: { type: "AccessMode", id: 3 } }, { access_type: { oneof: ["block", "mount"] } }),
              nested: {
                BlockVolume: msg(),
                MountVolume: msg({ fs_type: str(1), mount_flags: { type: "string", id: 2, rule: "repeated" }, volume_mount_group: str(3) }),
                AccessMode: {
                  ...msg({ mode: { type: "Mode", id: 1 } }),
                  nested: {
                    Mode: {
                      values: {
                        UNKNOWN: 0,
                        SINGLE_NODE_WRITER: 1,
                        SINGLE_NODE_READER_ONLY: 2,
                        MULTI_NODE_READER_ONLY: 3,
                        MULTI_NODE_SINGLE_WRITER: 4,
                        MULTI_NODE_MULTI_WRITER: 5,
                        SINGLE_NODE_SINGLE_WRITER: 6,
                        SINGLE_NODE_MULTI_WRITER: 7,
                      },
                    },
                  },
                },
              },
            },
            VolumeContentSource: {
              ...msg({ snapshot: { type: "SnapshotSource", id: 1 }, volume: { type: "VolumeSource", id: 2 } }, { type: { oneof: ["snapshot", "volume"] } }),
              nested: { SnapshotSource: msg({ snapshot_id: str(1) }), VolumeSource: msg({ volume_id: str(1) }) },
            },
            Topology: msg({ segments: map(1) }),
            TopologyRequirement: msg({ requisite: { type: "Topology", id: 1, rule: "repeated" }, preferred: { type: "Topology", id: 2, rule: "repeated" } }),
            Volume: msg({
              capacity_bytes: { type: "int64", id: 1 },
              volume_id: str(2),
              volume_context: map(3),
              content_source: { type: "VolumeContentSource", id: 4 },
              accessible_topology: { type: "Topology", id: 5, rule: "repeated" },
            }),
            CreateVolumeRequest: msg({
              name: str(1),
              capacity_range: { type: "CapacityRange", id: 2 },
              volume_capabilities: { type: "VolumeCapability", id: 3, rule: "repeated" },
              parameters: map(4),
              secrets: map(5),
              volume_content_source: { type: "VolumeContentSource", id: 6 },
              accessibility_requirements: { type: "TopologyRequirement", id: 7 },
            }),
            CreateVolumeResponse: msg({ volume: { type: "Volume", id: 1 } }),
            DeleteVolumeRequest: msg({ volume_id: str(1), secrets: map(2) }),
            DeleteVolumeResponse: msg(),
            ControllerPublishVolumeRequest: msg({ volume_id: str(1), node_id: str(2), volume_capability: { type: "VolumeCapability", id: 3 }, readonly: { type: "bool", id: 4 }, secrets: map(5), volume_context: map(6) }),
            ControllerPublishVolumeResponse: msg({ publish_context: map(1) }),
            ControllerUnpublishVolumeRequest: msg({ volume_id: str(1), node_id: str(2), secrets: map(3) }),
            ControllerUnpublishVolumeResponse: msg(),
            ValidateVolumeCapabilitiesRequest: msg({ volume_id: str(1), volume_context: map(2), volume_capabilities: { type: "VolumeCapability", id: 3, rule: "repeated" }, parameters: map(4), secrets: map(5) }),
            ValidateVolumeCapabilitiesResponse: {
              ...msg({ confirmed: { type: "Confirmed", id: 1 }, message: str(2) }),
              nested: { Confirmed: msg({ volume_context: map(1), volume_capabilities: { type: "VolumeCapability", id: 2, rule: "repeated" }, parameters: map(3) }) },
            },
            ListVolumesRequest: msg({ max_entries: { type: "int32", id: 1 }, starting_token: str(2) }),
            ListVolumesResponse: msg(),
            GetCapacityRequest: msg({ volume_capabilities: { type: "VolumeCapability", id: 1, rule: "repeated" }, parameters: map(2), accessible_topology: { type: "Topology", id: 3 } }),
            GetCapacityResponse: msg({ available_capacity: { type: "int64", id: 1 } }),
            ControllerGetCapabilitiesRequest: msg(),
            ControllerGetCapabilitiesResponse: msg({ capabilities: { type: "ControllerServiceCapability", id: 1, rule: "repeated" } }),
            ControllerServiceCapability: {
              ...msg({ rpc: { type: "RPC", id: 1 } }, { type: { oneof: ["rpc"] } }),
              nested: {
                RPC: {
                  ...msg({ type: { type: "Type", id: 1 } }),
                  nested: {
                    Type: {
                      values: {
                        UNKNOWN: 0,
                        CREATE_DELETE_VOLUME: 1,
                        PUBLISH_UNPUBLISH_VOLUME: 2,
                        LIST_VOLUMES: 3,
                        GET_CAPACITY: 4,
                        CREATE_DELETE_SNAPSHOT: 5,
                        LIST_SNAPSHOTS: 6,
                        CLONE_VOLUME: 7,
                        PUBLISH_READONLY: 8,
                        EXPAND_VOLUME: 9,
                        LIST_VOLUMES_PUBLISHED_NODES: 10,
                        VOLUME_CONDITION: 11,
                        GET_VOLUME: 12,
                        SINGLE_NODE_MULTI_WRITER: 13,
                      },
                    },
                  },
                },
              },
            },
            ControllerExpandVolumeRequest: msg({ volume_id: str(1), capacity_range: { type: "CapacityRange", id: 2 }, secrets: map(3), volume_capability: { type: "VolumeCapability", id: 4 } }),
            ControllerExpandVolumeResponse: msg({ capacity_bytes: { type: "int64", id: 1 }, node_expansion_required: { type: "bool", id: 2 } }),

            // Snapshots
            Snapshot: msg({
              size_bytes: { type: "int64", id: 1 },
              snapshot_id: str(2),
              source_volume_id: str(3),
              creation_time: { type: "google.protobuf.Timestamp", id: 4 },
              ready_to_use: { type: "bool", id: 5 },
              group_snapshot_id: str(6),
            }),
            CreateSnapshotRequest: msg({ source_volume_id: str(1), name: str(2), secrets: map(3), parameters: map(4) }),
            CreateSnapshotResponse: msg({ snapshot: { type: "Snapshot", id: 1 } }),
            DeleteSnapshotRequest: msg({ snapshot_id: str(1), secrets: map(2) }),
            DeleteSnapshotResponse: msg(),
            ListSnapshotsRequest: msg({ max_entries: { type: "int32", id: 1 }, starting_token: str(2), source_volume_id: str(3), snapshot_id: str(4), secrets: map(5) }),
            ListSnapshotsResponse: {
              ...msg({ entries: { type: "Entry", id: 1, rule: "repeated" }, next_token: str(2) }),
              nested: { Entry: msg({ snapshot: { type: "Snapshot", id: 1 } }) },
            },

            // Node
            NodeStageVolumeRequest: msg({ volume_id: str(1), publish_context: map(2), staging_target_path: str(3), volume_capability: { type: "VolumeCapability", id: 4 }, secrets: map(5), volume_context: map(6) }),
            NodeStageVolumeResponse: msg(),
            NodeUnstageVolumeRequest: msg({ volume_id: str(1), staging_target_path: str(2) }),
            NodeUnstageVolumeResponse: msg(),
            NodePublishVolumeRequest: msg({
              volume_id: str(1),
              publish_context: map(2),
              staging_target_path: str(3),
              target_path: str(4),
              volume_capability: { type: "VolumeCapability", id: 5 },
              readonly: { type: "bool", id: 6 },
              secrets: map(7),
              volume_context: map(8),
            }),
            NodePublishVolumeResponse: msg(),
            NodeUnpublishVolumeRequest: msg({ volume_id: str(1), target_path: str(2) }),
            NodeUnpublishVolumeResponse: msg(),
            NodeGetVolumeStatsRequest: msg({ volume_id: str(1), volume_path: str(2), staging_target_path: str(3) }),
            NodeGetVolumeStatsResponse: msg({ usage: { type: "VolumeUsage", id: 1, rule: "repeated" }, volume_condition: { type: "VolumeCondition", id: 2 } }),
            VolumeUsage: {
              ...msg({ available: { type: "int64", id: 1 }, total: { type: "int64", id: 2 }, used: { type: "int64", id: 3 }, unit: { type: "Unit", id: 4 } }),
              nested: { Unit: { values: { UNKNOWN: 0, BYTES: 1, INODES: 2 } } },
            },
            VolumeCondition: msg({ abnormal: { type: "bool", id: 1 }, message: str(2) }),
            NodeExpandVolumeRequest: msg({ volume_id: str(1), volume_path: str(2), capacity_range: { type: "CapacityRange", id: 3 }, staging_target_path: str(4), volume_capability: { type: "VolumeCapability", id: 5 }, secrets: map(6) }),
            NodeExpandVolumeResponse: msg({ capacity_bytes: { type: "int64", id: 1 } }),
            NodeGetCapabilitiesRequest: msg(),
            NodeGetCapabilitiesResponse: msg({ capabilities: { type: "NodeServiceCapability", id: 1, rule: "repeated" } }),
            NodeServiceCapability: {
              ...msg({ rpc: { type: "RPC", id: 1 } }, { type: { oneof: ["rpc"] } }),
              nested: {
                RPC: {
                  ...msg({ type: { type: "Type", id: 1 } }),
                  nested: {
                    Type: { values: { UNKNOWN: 0, STAGE_UNSTAGE_VOLUME: 1, GET_VOLUME_STATS: 2, EXPAND_VOLUME: 3, VOLUME_CONDITION: 4, SINGLE_NODE_MULTI_WRITER: 5, VOLUME_MOUNT_GROUP: 6 } },
                  },
                },
              },
            },
            NodeGetInfoRequest: msg(),
            NodeGetInfoResponse: msg({ node_id: str(1), max_volumes_per_node: { type: "int64", id: 2 }, accessible_topology: { type: "Topology", id: 3 } }),
          },
        },
      },
    },
  },
};

export type CsiServiceName = "Identity" | "Controller" | "Node";

/**
 * Client constructors of the three services; `.service` of each is its server definition.
 * Messages arrive as plain objects with the spec's snake_case field names, enums as numbers,
 * int64 as strings (never rounded through a double), and absent scalars as their defaults
 * (proto3 has no "unset" for them).
 */
export function csiClients(): Record<CsiServiceName, grpc.ServiceClientConstructor> {
  // The literal's nested shapes are wider than protobufjs's INamespace union can check.
  const definition = fromJSON(CSI_V1 as unknown as Parameters<typeof fromJSON>[0], { keepCase: true, longs: String, enums: Number, defaults: true, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as unknown as { csi: { v1: Record<CsiServiceName, grpc.ServiceClientConstructor> } }).csi.v1;
}

export function csiServices(): Record<CsiServiceName, grpc.ServiceDefinition> {
  const clients = csiClients();
  return { Identity: clients.Identity.service, Controller: clients.Controller.service, Node: clients.Node.service };
}
