import { existsSync, rmSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { LIMITS } from "../types/index.ts";
import { ControllerService } from "./controller.ts";
import { codeName, toCsiError } from "./errors.ts";
import { MetadPool, type MetadTarget } from "./metad.ts";
import { NodeService } from "./node.ts";
import { NodeState } from "./node-state.ts";
import { csiServices } from "./proto.ts";
import { SnapshotRegistry } from "./registry.ts";

// The driver process: one gRPC server on the CO's endpoint (a unix socket, or tcp://host:port)
// with the Identity service and, by --mode, the Controller service, the Node service or both.
// Each call is logged as one line: method, volume or snapshot id, status, time. Requests are
// never logged whole: their secrets stay out of the log.

export const DRIVER_NAME = "csi.nokv.io";
export const DRIVER_VERSION = "0.1.0";

export interface CsiOptions {
  endpoint: string;
  nodeId: string;
  mode: "controller" | "node" | "all";
  driverName: string;
  defaults: MetadTarget;
  stateDir: string;
  registryMount: string;
  log: (line: string) => void;
}

export interface CsiDriver {
  /** The address bound (the socket path, or host:port with the OS-chosen port). */
  address: string;
  stop(): Promise<void>;
}

type Handler = (req: never) => Promise<object> | object;

/** The ids a request names, for the log line. */
function subject(req: Record<string, unknown>): string {
  const ids = ["volume_id", "snapshot_id", "source_volume_id", "name"].map((k) => req[k]).filter((v): v is string => typeof v === "string" && v !== "");
  return ids.length > 0 ? ` ${ids.join(" ")}` : "";
}

function unary(method: string, handler: Handler, log: (line: string) => void): grpc.handleUnaryCall<object, object> {
  return (call, callback) => {
    const started = performance.now();
    const req = call.request as Record<string, unknown>;
    Promise.resolve()
      .then(() => handler(req as never))
      .then(
        (reply) => {
          log(`csi: ${method}${subject(req)} OK ${(performance.now() - started).toFixed(0)} ms`);
          callback(null, reply);
        },
        (err: unknown) => {
          const e = toCsiError(err);
          log(`csi: ${method}${subject(req)} ${codeName(e.code)} ${(performance.now() - started).toFixed(0)} ms: ${e.message}`);
          callback({ code: e.code, details: e.message, name: "", message: e.message });
        },
      );
  };
}

/** Parses unix:///path, unix:/path, /path or tcp://host:port into grpc-js's form. */
export function grpcAddress(endpoint: string): { address: string; socket: string | null } {
  const unix = /^unix:\/\/(\/.*)$/.exec(endpoint) ?? /^unix:(\/.*)$/.exec(endpoint) ?? /^(\/.*)$/.exec(endpoint);
  if (unix) return { address: `unix:${unix[1]}`, socket: unix[1]! };
  const tcp = /^tcp:\/\/(.+:\d+)$/.exec(endpoint);
  if (tcp) return { address: tcp[1]!, socket: null };
  throw new Error(`endpoint '${endpoint}' is not unix:///PATH or tcp://HOST:PORT`);
}

export async function startCsiDriver(options: CsiOptions): Promise<CsiDriver> {
  const { address, socket } = grpcAddress(options.endpoint);
  const pool = new MetadPool();
  const services = csiServices();
  const server = new grpc.Server();
  const log = options.log;
  const registry = new SnapshotRegistry(pool, options.registryMount, options.defaults);
  const controller = options.mode === "node" ? null : new ControllerService({ pool, defaults: options.defaults, registry });
  const node = options.mode === "controller" ? null : new NodeService({ nodeId: options.nodeId, pool, defaults: options.defaults, state: new NodeState(options.stateDir), log });

  server.addService(services.Identity, {
    GetPluginInfo: unary("GetPluginInfo", () => ({ name: options.driverName, vendor_version: DRIVER_VERSION }), () => {}),
    GetPluginCapabilities: unary("GetPluginCapabilities", () => ({
      capabilities: [...(controller ? [{ service: { type: 1 /* CONTROLLER_SERVICE */ } }] : []), { volume_expansion: { type: 1 /* ONLINE */ } }],
    }), () => {}),
    Probe: unary("Probe", async () => ({ ready: { value: await metadAnswers(pool, options.defaults) } }), () => {}),
  });
  if (controller) {
    server.addService(services.Controller, {
      CreateVolume: unary("CreateVolume", (r: never) => controller.createVolume(r), log),
      DeleteVolume: unary("DeleteVolume", (r: never) => controller.deleteVolume(r), log),
      ValidateVolumeCapabilities: unary("ValidateVolumeCapabilities", (r: never) => controller.validateVolumeCapabilities(r), log),
      ControllerGetCapabilities: unary("ControllerGetCapabilities", () => controller.getCapabilities(), () => {}),
      ControllerExpandVolume: unary("ControllerExpandVolume", (r: never) => controller.expandVolume(r), log),
      CreateSnapshot: unary("CreateSnapshot", (r: never) => registry.create(r), log),
      DeleteSnapshot: unary("DeleteSnapshot", (r: never) => registry.delete(r), log),
      ListSnapshots: unary("ListSnapshots", (r: never) => registry.list(r), log),
    });
  }
  if (node) {
    await node.recover();
    server.addService(services.Node, {
      NodeStageVolume: unary("NodeStageVolume", (r: never) => node.stage(r), log),
      NodeUnstageVolume: unary("NodeUnstageVolume", (r: never) => node.unstage(r), log),
      NodePublishVolume: unary("NodePublishVolume", (r: never) => node.publish(r), log),
      NodeUnpublishVolume: unary("NodeUnpublishVolume", (r: never) => node.unpublish(r), log),
      NodeGetVolumeStats: unary("NodeGetVolumeStats", (r: never) => node.volumeStats(r), log),
      NodeGetCapabilities: unary("NodeGetCapabilities", () => node.getCapabilities(), () => {}),
      NodeGetInfo: unary("NodeGetInfo", () => node.getInfo(), () => {}),
    });
  }
  // A socket left by a previous run (the CO restarts drivers) would make bind fail.
  if (socket && existsSync(socket)) rmSync(socket);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const bound = socket ?? address.replace(/:\d+$/, `:${port}`);
  log(`csi: ${options.driverName} ${DRIVER_VERSION} serving ${options.mode === "all" ? "controller and node" : options.mode} on ${socket ? `unix://${socket}` : bound} (node ${options.nodeId})`);
  return {
    address: bound,
    async stop() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await pool.close();
      if (socket) rmSync(socket, { force: true });
    },
  };
}

/** Failures that mean metad did not answer (any answer, even a refusal, means it is up). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EBADF", "EPROTO", "EHOSTUNREACH", "ENOTFOUND"]);

/** Whether the default metad answers within LIMITS.csiProbeTimeoutMs. */
async function metadAnswers(pool: MetadPool, target: MetadTarget): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), LIMITS.csiProbeTimeoutMs)));
  const probe = (async () => {
    const client = await pool.client(target, "default");
    await client.listMounts();
    return true;
  })().catch((err: unknown) => !UNREACHABLE.has(String((err as { code?: unknown })?.code)));
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
