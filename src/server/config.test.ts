import { describe, expect, test } from "bun:test";
import { ConfigError, DEFAULT_CONFIG, parseConfig } from "./config.ts";

describe("metad config", () => {
  test("defaults, environment, then flags", () => {
    expect(parseConfig([], {})).toEqual(DEFAULT_CONFIG);
    const env = { NOKV_LISTEN: "0.0.0.0:9000", NOKV_DATA: "/var/nokv", NOKV_DURABILITY: "full" };
    expect(parseConfig([], env)).toMatchObject({ host: "0.0.0.0", port: 9000, dataDir: "/var/nokv", durability: "full" });
    const flags = parseConfig(["--listen", "127.0.0.1:0", "--data=/tmp/x", "--objects", "s3://b/p?endpoint=http://h:1"], env);
    expect(flags).toMatchObject({ host: "127.0.0.1", port: 0, dataDir: "/tmp/x", objectsUrl: "s3://b/p?endpoint=http://h:1", durability: "full" });
    expect(parseConfig(["--listen", "[::1]:7000"], {})).toMatchObject({ host: "::1", port: 7000 });
    expect(parseConfig(["--idle-timeout-ms", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem"], {})).toMatchObject({ idleTimeoutMs: 0, tlsCertFile: "c.pem", tlsKeyFile: "k.pem" });
    expect(parseConfig([], { NOKV_IDLE_TIMEOUT_MS: "5000", NOKV_TLS_CERT: "c", NOKV_TLS_KEY: "k" })).toMatchObject({ idleTimeoutMs: 5000, tlsCertFile: "c" });
  });

  test("the objects directory defaults to <data>/objects, not the working directory", () => {
    expect(parseConfig(["--data", "/srv/a/"], {}).objectsUrl).toBe("file:///srv/a/objects");
    expect(parseConfig([], { NOKV_DATA: "/srv/b" }).objectsUrl).toBe("file:///srv/b/objects");
    expect(parseConfig(["--data", "/srv/c", "--objects=file:///elsewhere"], {}).objectsUrl).toBe("file:///elsewhere");
  });

  test("cluster flags: etcd endpoints, replica id, advertised address, key root; none means single node", () => {
    expect(parseConfig([], {}).cluster).toBeUndefined();
    const c = parseConfig(["--etcd", "http://10.0.0.1:2379,http://10.0.0.2:2379", "--replica-id", "m1", "--advertise", "10.0.0.1:7777", "--prefer-lead", "0,1"], {});
    expect(c.cluster).toEqual({ etcd: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"], replicaId: "m1", advertise: "10.0.0.1:7777", root: "/nokv", preferLead: [0, 1] });
    const env = parseConfig([], { NOKV_ETCD: "http://e:2379", NOKV_REPLICA_ID: "r2", NOKV_ETCD_ROOT: "/prod/nokv", NOKV_CHECKPOINT_INTERVAL_MS: "60000" });
    expect(env.cluster).toEqual({ etcd: ["http://e:2379"], replicaId: "r2", root: "/prod/nokv", checkpointIntervalMs: 60_000 });
  });

  test("bad flags name the problem", () => {
    const bad: Array<[string[], RegExp]> = [
      [["--nope"], /unknown argument '--nope'/],
      [["--listen"], /--listen needs a value/],
      [["--listen", "localhost"], /not HOST:PORT/],
      [["--listen", "h:70000"], /out of range/],
      [["--durability", "fast"], /not normal or full/],
      [["--objects", "ftp://x"], /not file:\/\/DIR/],
      [["--gc-interval-ms", "-5"], /whole number/],
      [["--idle-timeout-ms", "soon"], /whole number/],
      [["--tls-cert", "c.pem"], /--tls-cert and --tls-key go together/],
      [["--etcd", "http://e:2379"], /--etcd needs --replica-id/],
      [["--replica-id", "r1"], /cluster flags need --etcd/],
      [["--etcd", "e:2379", "--replica-id", "r1"], /'e:2379' is not an etcd client URL/],
      [["--etcd", "http://e:2379", "--replica-id", "bad id"], /'bad id' is not a replica id/],
      [["--etcd", "http://e:2379", "--replica-id", "r1", "--advertise", "h:0"], /advertises port 0/],
      [["--etcd", "http://e:2379", "--replica-id", "r1", "--etcd-root", "nokv"], /not an etcd key root/],
      [["--etcd", "http://e:2379", "--replica-id", "r1", "--listen", "0.0.0.0:7777"], /give --advertise HOST:PORT/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseConfig(argv, {})).toThrow(ConfigError);
      expect(() => parseConfig(argv, {})).toThrow(message);
    }
  });
});
