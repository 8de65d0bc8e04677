// `nokv-fs fsck`: checks a metadata store at rest against every invariant the service keeps, and
// the object store against the manifests. Opens the store directly, so metad must be stopped: the
// data directory lock says when it is not.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { SqliteStore } from "../schema/index.ts";
import { fsck, type FsckObjectSource, type FsckReport } from "../service/fsck.ts";
import { openObjectStore, redactStoreUrl, type ObjectStore } from "../objstore/index.ts";
import { DEFAULT_CONFIG } from "../server/config.ts";
import { DataDirBusy, DataLock } from "../server/data-lock.ts";

export const FSCK_USAGE = `usage: nokv-fs fsck [--data DIR] [--objects URL|none] [--repair] [--json]
  --data      metadata directory (env NOKV_DATA, default ${DEFAULT_CONFIG.dataDir}); metad must not be running on it
  --objects   object store to check blocks and leaks in (env NOKV_OBJECTS, default ${DEFAULT_CONFIG.objectsUrl}); "none" skips it
  --repair    delete leaked objects (nothing else is changed)
  --json      print the report as JSON
exit status: 0 clean (or every problem repaired), 1 problems found, 2 could not check`;

export interface FsckRunOptions {
  dataDir: string;
  /** null: metadata only. */
  objectsUrl: string | null;
  repair?: boolean;
}

export class FsckUsageError extends Error {
  override name = "FsckUsageError";
}

/** An object store as fsck sees it. */
export function objectSource(store: ObjectStore): FsckObjectSource {
  return {
    listObjects: async (prefix) => {
      const keys: string[] = [];
      for (let after: string | null = null; ; ) {
        const page = await store.list(prefix, after === null ? {} : { after });
        keys.push(...page.keys);
        if (page.nextAfter === null) return keys;
        after = page.nextAfter;
      }
    },
    headObject: (key) => store.head(key),
    deleteObject: (key) => store.delete(key),
  };
}

/** Locks the data directory, checks it, unlocks. Throws DataDirBusy while metad runs on it. */
export async function fsckDataDir(options: FsckRunOptions): Promise<FsckReport> {
  const dataDir = resolve(options.dataDir);
  const dbPath = join(dataDir, "meta.db");
  if (!existsSync(dbPath)) throw new FsckUsageError(`no metadata store at ${dbPath}`);
  const lock = DataLock.acquire(dataDir, "fsck");
  let store: SqliteStore | null = null;
  let objects: ObjectStore | null = null;
  try {
    store = new SqliteStore({ path: dbPath });
    objects = options.objectsUrl === null ? null : await openObjectStore(options.objectsUrl);
    return await fsck(store, store.fullScan(), { ...(objects ? { objects: objectSource(objects) } : {}), repair: options.repair === true });
  } finally {
    store?.close();
    await objects?.close();
    lock.release();
  }
}

function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): FsckRunOptions & { json: boolean } {
  const out = {
    dataDir: env.NOKV_DATA || DEFAULT_CONFIG.dataDir,
    objectsUrl: (env.NOKV_OBJECTS || DEFAULT_CONFIG.objectsUrl) as string | null,
    repair: false,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new FsckUsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--data") out.dataDir = value();
    else if (flag === "--objects") {
      const v = value();
      out.objectsUrl = v === "none" ? null : v;
    } else if (flag === "--repair") out.repair = true;
    else if (flag === "--json") out.json = true;
    else throw new FsckUsageError(`unknown argument '${arg}'`);
  }
  return out;
}

function printReport(report: FsckReport, options: FsckRunOptions): void {
  for (const v of report.violations) console.log(`${v.kind}: ${v.message} ${JSON.stringify(v.keys)}`);
  if (report.violationsOmitted > 0) console.log(`... and ${report.violationsOmitted} more`);
  const c = report.counts;
  const where = options.objectsUrl === null ? "no object store" : `objects ${redactStoreUrl(options.objectsUrl)}`;
  console.log(
    `fsck ${options.dataDir} (${where}): ${c.mounts} mounts, ${c.inodes} inodes, ${c.dentries} entries, ${c.bodies} bodies, ` +
      `${c.blocksReferenced} blocks referenced, ${c.objectsListed} objects listed, ${c.historyRows} history rows: ` +
      `${report.ok ? "clean" : `${report.violations.length + report.violationsOmitted} problems`}`,
  );
  if (options.repair) console.log(`repair: ${report.repaired.objectsDeleted} leaked objects deleted, ${report.repaired.objectDeleteErrors} failed`);
}

/** True when every problem found was a leaked object that repair deleted. */
function allRepaired(report: FsckReport): boolean {
  const leaks = report.violations.filter((v) => v.kind === "object-leak").length;
  return report.violationsOmitted === 0 && leaks === report.violations.length && report.repaired.objectsDeleted === leaks;
}

export async function runFsck(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(FSCK_USAGE);
    return 0;
  }
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(argv, process.env);
  } catch (err) {
    console.error(`nokv-fs fsck: ${(err as Error).message}\n${FSCK_USAGE}`);
    return 2;
  }
  let report: FsckReport;
  try {
    report = await fsckDataDir(options);
  } catch (err) {
    const hint = err instanceof DataDirBusy ? " (stop metad first)" : "";
    console.error(`nokv-fs fsck: ${(err as Error).message}${hint}`);
    return 2;
  }
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report, options);
  if (report.ok) return 0;
  return options.repair && allRepaired(report) ? 0 : 1;
}

if (import.meta.main) process.exit(await runFsck(process.argv.slice(2)));
