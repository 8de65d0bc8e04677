import { describe, expect, test } from "bun:test";
import { CsiUsageError, parseCsiArgs } from "./main.ts";
import { grpcAddress } from "./server.ts";

describe("nokv-fs csi arguments", () => {
  test("endpoint, node id, mode and the metad defaults", () => {
    const opts = parseCsiArgs(["--endpoint", "unix:///csi/csi.sock", "--node-id", "n1", "--mode", "node", "--server", "nokv://m:7777"], { NOKV_TOKEN: "t" });
    expect(opts).toMatchObject({ endpoint: "unix:///csi/csi.sock", nodeId: "n1", mode: "node", defaults: { server: "nokv://m:7777", token: "t" }, registryMount: "csi", driverName: "csi.nokv.io" });
    expect(parseCsiArgs([], { CSI_ENDPOINT: "unix:///x.sock", NODE_ID: "n2" }).nodeId).toBe("n2");
    // A controller needs no node id.
    expect(parseCsiArgs(["--endpoint", "unix:///x", "--mode", "controller"], {}).nodeId).not.toBe("");
  });

  test("missing or wrong flags are usage errors that say which", () => {
    expect(() => parseCsiArgs(["--node-id", "n"], {})).toThrow(/--endpoint/);
    expect(() => parseCsiArgs(["--endpoint", "unix:///x"], {})).toThrow(/--node-id/);
    expect(() => parseCsiArgs(["--endpoint", "unix:///x", "--node-id", "n", "--mode", "both"], {})).toThrow(CsiUsageError);
    expect(() => parseCsiArgs(["--endpoint", "unix:///x", "--node-id", "n", "--verbose"], {})).toThrow(/--verbose/);
  });

  test("endpoints: unix sockets and tcp", () => {
    expect(grpcAddress("unix:///csi/csi.sock")).toEqual({ address: "unix:/csi/csi.sock", socket: "/csi/csi.sock" });
    expect(grpcAddress("/csi/csi.sock").socket).toBe("/csi/csi.sock");
    expect(grpcAddress("tcp://127.0.0.1:10000")).toEqual({ address: "127.0.0.1:10000", socket: null });
    expect(() => grpcAddress("http://x")).toThrow(/endpoint/);
  });
});
