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
/** The whole suite ran ~3.5 minutes here one directory after another (238 files, 8,798 subtests). */
const SUITE_TIMEOUT_MS = 20 * 60_000;
/**
 * Its test directories in three groups of about 80 files, run at once in separate directories of
 * the one mount: the suite waits on round trips far more than on CPU, and a mount serving three
 * programs at once is the more honest test anyway. `posix_fallocate` (one file) runs first and
 * alone, so the one-time build of pjdfstest never races with itself.
 */
const FIRST = "posix_fallocate";
const GROUPS: ReadonlyArray<readonly string[]> = [
  ["open", "rename", "chown", "utimensat", "granular"],
  ["link", "rmdir", "unlink", "truncate", "ftruncate"],
  ["chflags", "symlink", "mkfifo", "mkdir", "chmod", "mknod"],
];

/** "pjdfstest: F of N test files failed, f of n subtests failed" -> the four numbers. */
function counts(summary: string): { failedFiles: number; files: number; failedSubtests: number; subtests: number } | null {
  const m = /^pjdfstest: (\d+) of (\d+) test files failed, (\d+) of (\d+) subtests failed/.exec(summary);
  return m ? { failedFiles: Number(m[1]), files: Number(m[2]), failedSubtests: Number(m[3]), subtests: Number(m[4]) } : null;
}

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
      const started = Date.now();
      const runs = [await sh(`${PJDFSTEST} ${mount.mountpoint}/pjdfstest-0 ${FIRST}`, { timeoutMs: SUITE_TIMEOUT_MS })];
      runs.push(...(await Promise.all(GROUPS.map((dirs, i) => sh(`${PJDFSTEST} ${mount.mountpoint}/pjdfstest-${i + 1} ${dirs.join(" ")}`, { timeoutMs: SUITE_TIMEOUT_MS })))));
      const summaries = runs.map((r) => r.stdout.trim().split("\n").at(-1) ?? "");
      const parsed = summaries.map(counts);
      expect({ unparsed: summaries.filter((_, i) => parsed[i] === null) }).toEqual({ unparsed: [] });
      const total = { failedFiles: 0, files: 0, failedSubtests: 0, subtests: 0 };
      for (const c of parsed) {
        total.failedFiles += c?.failedFiles ?? 0;
        total.files += c?.files ?? 0;
        total.failedSubtests += c?.failedSubtests ?? 0;
        total.subtests += c?.subtests ?? 0;
      }
      const summary = `pjdfstest: ${total.failedFiles} of ${total.files} test files failed, ${total.failedSubtests} of ${total.subtests} subtests failed (${runs.length} runs, ${Math.round((Date.now() - started) / 1000)} s)`;
      console.log(summary);
      if (SKIPPED_FILES.length > 0) for (const s of SKIPPED_FILES) console.log(`pjdfstest: skipped ${s.file}: ${s.reason}`);
      // Every test file ran: the groups cover the suite.
      expect(total.files).toBe(238);
      expect({ failed: runs.flatMap((r) => failedFiles(r.stdout)), summary }).toEqual({ failed: [], summary });
    },
    SUITE_TIMEOUT_MS,
  );
});
