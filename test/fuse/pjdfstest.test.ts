import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, sh, startMount, type MountProcess } from "./fuse-harness.ts";

// POSIX conformance: pjdfstest (from ../shared/tools, built there from its tarball) run as root
// inside a mount made with --allow-other (its tests switch to other users), every test file. The
// verdict is prove's: a file fails when a subtest fails or it exits non-zero. "TODO passed" (a
// behaviour pjdfstest expects Linux to get wrong, done right) is not a failure.
//
// Skipped files: none. Were one ever skipped it would be listed in SKIPPED_FILES with its reason.

const PJDFSTEST = resolve(import.meta.dir, "../../../shared/tools/pjdfstest.sh");
const SKIPPED_FILES: ReadonlyArray<{ file: string; reason: string }> = [];
/** The whole suite runs ~4 minutes here (238 files, 8,798 subtests). */
const SUITE_TIMEOUT_MS = 20 * 60_000;

async function skipReason(): Promise<string | null> {
  const fuse = fuseSkipReason();
  if (fuse) return fuse;
  if (!existsSync(PJDFSTEST)) return `pjdfstest needs ${PJDFSTEST} (the shared tools beside the repository)`;
  for (const tool of ["gcc", "make", "autoconf", "automake", "prove", "openssl"]) {
    if ((await sh(`command -v ${tool}`)).code !== 0) return `pjdfstest needs ${tool} (apt-get install gcc make autoconf automake perl openssl)`;
  }
  return null;
}

const skip = await skipReason();
if (skip) console.log(`skipping pjdfstest: ${skip}`);

/** Test files prove reports as failed: "path (Wstat: W Tests: N Failed: F)" with F > 0 or W != 0. */
export function failedFiles(proveOutput: string): string[] {
  const out: string[] = [];
  for (const m of proveOutput.matchAll(/^(\S+)\s+\(Wstat: (\d+) Tests: \d+ Failed: (\d+)\)/gm)) {
    if (Number(m[2]) !== 0 || Number(m[3]) !== 0) out.push(m[1]!.replace(/^.*\/tests\//, ""));
  }
  return out;
}

test("failedFiles reads prove's summary: failures and bad exits count, TODO passes do not", () => {
  const summary = [
    "/b/pjdfstest/tests/chown/00.t    (Wstat: 0 Tests: 1280 Failed: 0)",
    "  TODO passed:   1054, 1058",
    "/b/pjdfstest/tests/unlink/14.t   (Wstat: 0 Tests: 7 Failed: 2)",
    "  Failed tests:  4, 6",
    "/b/pjdfstest/tests/open/00.t     (Wstat: 256 Tests: 47 Failed: 0)",
  ].join("\n");
  expect(failedFiles(summary)).toEqual(["unlink/14.t", "open/00.t"]);
});

describe.skipIf(skip !== null)("pjdfstest inside a mount", () => {
  let metad: MetadHarness;
  let mount: MountProcess;

  beforeAll(async () => {
    metad = await startMetad();
    mount = await startMount(metad, ["--allow-other"]);
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  test(
    "every test file passes (0 failed files)",
    async () => {
      const result = await sh(`${PJDFSTEST} ${mount.mountpoint}/pjdfstest`, { timeoutMs: SUITE_TIMEOUT_MS });
      const summary = result.stdout.trim().split("\n").at(-1) ?? "";
      console.log(summary);
      if (SKIPPED_FILES.length > 0) for (const s of SKIPPED_FILES) console.log(`pjdfstest: skipped ${s.file}: ${s.reason}`);
      expect(summary).toMatch(/^pjdfstest: \d+ of 238 test files failed/);
      expect({ failed: failedFiles(result.stdout), summary }).toEqual({ failed: [], summary });
    },
    SUITE_TIMEOUT_MS,
  );
});
