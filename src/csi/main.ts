import { hostname } from "node:os";
import { DRIVER_NAME, startCsiDriver, type CsiOptions } from "./server.ts";

// `nokv-fs csi --endpoint unix:///csi/csi.sock --node-id NODE [--mode all|controller|node]
// [--server nokv://host:port] [--state-dir DIR] [--registry-mount NAME] [--driver-name NAME]`:
// the Kubernetes CSI driver, serving until SIGINT/SIGTERM.

export const CSI_USAGE =
  "usage: nokv-fs csi --endpoint unix:///PATH --node-id NODE [--mode all|controller|node] [--server nokv://HOST:PORT] [--state-dir DIR] [--registry-mount NAME] [--driver-name NAME]";

export const CSI_HELP = `${CSI_USAGE}

Serves the CSI Identity service and, by --mode (default all), the Controller and Node services
on --endpoint (CSI_ENDPOINT). The metad address and token of each call come from the CSI
secrets (keys 'server' and 'token'), else --server / NOKV_SERVER and NOKV_TOKEN. The node mode
mounts through \`nokv-fs mount\` (needs root, /dev/fuse and Bun) and records its mounts under
--state-dir (default /var/lib/nokv-csi) so a restarted driver keeps or re-creates them.
Snapshot names live in the registry mount (--registry-mount, default csi). See docs/csi.md.

Examples:
  nokv-fs csi --endpoint unix:///csi/csi.sock --node-id "$NODE_NAME" --mode node
  nokv-fs csi --endpoint unix:///csi/csi.sock --node-id controller --mode controller --server nokv://metad:7777`;

export class CsiUsageError extends Error {}

export function parseCsiArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): Omit<CsiOptions, "log"> {
  const out = {
    endpoint: env.CSI_ENDPOINT ?? "",
    nodeId: env.NODE_ID ?? "",
    mode: "all" as CsiOptions["mode"],
    driverName: DRIVER_NAME,
    server: env.NOKV_SERVER || "nokv://127.0.0.1:7777",
    stateDir: "/var/lib/nokv-csi",
    registryMount: "csi",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new CsiUsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === "--endpoint") out.endpoint = value();
    else if (arg === "--node-id") out.nodeId = value();
    else if (arg === "--mode") {
      const mode = value();
      if (mode !== "all" && mode !== "controller" && mode !== "node") throw new CsiUsageError(`--mode '${mode}' is not all, controller or node`);
      out.mode = mode;
    } else if (arg === "--server") out.server = value();
    else if (arg === "--state-dir") out.stateDir = value();
    else if (arg === "--registry-mount") out.registryMount = value();
    else if (arg === "--driver-name") out.driverName = value();
    else throw new CsiUsageError(`unexpected argument '${arg}'`);
  }
  if (!out.endpoint) throw new CsiUsageError("no --endpoint (or CSI_ENDPOINT)");
  if (!out.nodeId) {
    if (out.mode !== "controller") throw new CsiUsageError("no --node-id (or NODE_ID): the node service names its node");
    out.nodeId = hostname();
  }
  const { server, ...rest } = out;
  return { ...rest, defaults: { server, token: env.NOKV_TOKEN || undefined } };
}

/** Runs the driver until SIGINT/SIGTERM; resolves with the exit status. */
export async function runCsi(argv: readonly string[]): Promise<number> {
  const options = parseCsiArgs(argv);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const driver = await startCsiDriver({ ...options, log });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  // The FUSE mounts stay: their processes are detached, and pods keep using them.
  await driver.stop();
  log("csi: stopped");
  return 0;
}
