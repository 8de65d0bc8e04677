import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../schema/index.ts";
import { FsError, type ErrnoCode } from "../types/index.ts";
import { MetadataService, type MetadataServiceOptions } from "./metadata-service.ts";

/** A service on a real SQLite file in a temp dir; `reopen` closes and opens the same file. */
export interface ServiceHarness {
  service: MetadataService;
  mount: number;
  dir: string;
  reopen(): MetadataService;
  cleanup(): void;
}

export function openTestService(options: MetadataServiceOptions = {}): ServiceHarness {
  const dir = mkdtempSync(join(tmpdir(), "nokv-service-"));
  const path = join(dir, "meta.db");
  // The service's clock stamps every command (dedupe ages, expiries), so tests can move time.
  const open = () => new MetadataService(new SqliteStore({ path }), options);
  const harness: ServiceHarness = {
    service: open(),
    mount: 1,
    dir,
    reopen() {
      harness.service.close();
      harness.service = open();
      return harness.service;
    },
    cleanup() {
      harness.service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  harness.mount = harness.service.mounts.resolve("default");
  return harness;
}

/** The errno `fn` throws; fails the test when it throws something else or nothing. */
export function errnoOf(fn: () => unknown): ErrnoCode {
  try {
    fn();
  } catch (err) {
    if (err instanceof FsError) return err.code;
    throw err;
  }
  throw new Error("expected an FsError, nothing was thrown");
}
