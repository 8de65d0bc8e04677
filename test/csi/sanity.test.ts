import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { sh } from "../fuse/fuse-harness.ts";
import { cleanupMounts, csiSanityScript, csiSkipReason, startDriver, type DriverProcess } from "./csi-harness.ts";

// Kubernetes CSI conformance: csi-sanity v5.1.0 (kubernetes-csi/csi-test, built from the tarball
// in ../shared/tools with Debian's Go) against the driver, with a real metad that requires a
// token. The driver itself is given no token: every call that reaches metad uses the one in the
// CSI secrets (csi-sanity's --csi.secrets), as a StorageClass's secret refs would.
//
// Every spec that applies to what the driver advertises passes. The skipped ones, by csi-sanity's
// own skip reason, are exactly those in SKIPPED below (capabilities the driver does not have).

const SKIPPED: ReadonlyArray<{ spec: RegExp; reason: string }> = [
  { spec: /GetCapacity/, reason: "GET_CAPACITY is not advertised: NoKV has no fixed capacity to report" },
  { spec: /ListVolumes/, reason: "LIST_VOLUMES is not advertised (optional; volumes are listed by the CO)" },
  { spec: /ControllerPublishVolume|ControllerUnpublishVolume|volume lifecycle/, reason: "PUBLISH_UNPUBLISH_VOLUME is not advertised: a NoKV volume needs no attach step" },
  { spec: /NodeExpandVolume/, reason: "the node service has no EXPAND_VOLUME: capacity is a controller-side record" },
  { spec: /GroupController/, reason: "GROUP_CONTROLLER_SERVICE is not advertised: NoKV snapshots are of one directory" },
];

const TOKEN = "csi-sanity-admin-token";
const SANITY_TIMEOUT_MS = 9 * 60_000;

async function skipReason(): Promise<string | null> {
  const csi = csiSkipReason();
  if (csi) return csi;
  if (!csiSanityScript()) return "csi-sanity needs ../shared/tools/csi-sanity.sh beside the repository";
  if (!existsSync("/tmp/csi-sanity-v5.1.0/csi-sanity") && (await sh("command -v go")).code !== 0) return "csi-sanity is built with Go (apt-get install golang-go)";
  return null;
}

const skip = await skipReason();
if (skip) console.log(`skipping csi-sanity: ${skip}`);

interface SpecReport {
  ContainerHierarchyTexts: string[] | null;
  LeafNodeText: string;
  State: string;
  Failure?: { Message: string };
}

describe.skipIf(skip !== null)("csi-sanity", () => {
  let metad: MetadHarness;
  let driver: DriverProcess;
  let dir: string;

  beforeAll(async () => {
    metad = await startMetad({ token: TOKEN });
    dir = metad.dir;
    driver = await startDriver({ server: metad.url, dir });
  });

  afterAll(async () => {
    await driver?.stop();
    if (driver) await cleanupMounts(dir, driver.stateDir);
    await metad?.stop();
  });

  test(
    "every applicable spec passes; the skipped ones are the unadvertised capabilities",
    async () => {
      const secrets = { server: metad.url, token: TOKEN };
      const kinds = ["CreateVolumeSecret", "DeleteVolumeSecret", "ControllerValidateVolumeCapabilitiesSecret", "NodeStageVolumeSecret", "NodePublishVolumeSecret", "CreateSnapshotSecret", "DeleteSnapshotSecret", "ControllerExpandVolumeSecret", "ListSnapshotsSecret"];
      writeFileSync(join(dir, "secrets.yaml"), kinds.map((k) => `${k}:\n  server: "${secrets.server}"\n  token: "${secrets.token}"\n`).join(""));
      writeFileSync(join(dir, "params.yaml"), "mount: default\nbasePath: /k8s/volumes\n");
      const report = join(dir, "report.json");
      const args = [
        driver.endpoint,
        `--csi.stagingdir=${join(dir, "stage")}`,
        `--csi.mountdir=${join(dir, "mnt")}`,
        `--csi.secrets=${join(dir, "secrets.yaml")}`,
        `--csi.testvolumeparameters=${join(dir, "params.yaml")}`,
        `--ginkgo.json-report=${report}`,
        "--ginkgo.no-color",
      ];
      const result = await sh(`${csiSanityScript()} ${args.map((a) => `'${a}'`).join(" ")}`, { timeoutMs: SANITY_TIMEOUT_MS });
      const output = `${result.stdout}\n${result.stderr}`;
      if (!existsSync(report)) throw new Error(`csi-sanity wrote no report (exit ${result.code}):\n${output.slice(-4000)}`);
      const specs = (JSON.parse(readFileSync(report, "utf8")) as Array<{ SpecReports: SpecReport[] }>).flatMap((s) => s.SpecReports).filter((s) => s.LeafNodeText !== "");
      const name = (s: SpecReport) => [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(" ");
      // csi-test marks one ListVolumes pagination spec pending (XIt) itself: it never runs.
      const failed = specs.filter((s) => s.State !== "passed" && s.State !== "skipped" && s.State !== "pending");
      const skipped = specs.filter((s) => s.State === "skipped");
      const passed = specs.filter((s) => s.State === "passed");
      console.log(`csi-sanity: ${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped`);
      for (const s of passed) console.log(`  passed: ${name(s)}`);
      for (const s of skipped) console.log(`  skipped: ${name(s)} (${s.Failure?.Message ?? "no reason"})`);
      if (failed.length > 0) console.log(`${output.slice(-6000)}\n--- driver log ---\n${driver.output().slice(-4000)}`);
      expect(failed.map((s) => `${name(s)}: ${s.Failure?.Message ?? s.State}`)).toEqual([]);
      // Each skip is one of the named ones: an advertised capability's spec never skips.
      expect(skipped.map(name).filter((n) => !SKIPPED.some((k) => k.spec.test(n)))).toEqual([]);
      expect(passed.length).toBeGreaterThan(50);
      // The node specs mounted for real: FUSE staging and bind publishing happened.
      expect(driver.output()).toMatch(/NodeStageVolume sub:default:\/k8s\/volumes\/\S+ OK/);
      expect(driver.output()).toMatch(/NodePublishVolume sub:default:\/k8s\/volumes\/\S+ OK/);
      expect(result.code).toBe(0);
    },
    SANITY_TIMEOUT_MS + 30_000,
  );
});
