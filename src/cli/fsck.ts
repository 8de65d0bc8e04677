// `nokv-fs fsck`: checks a metadata store at rest against every invariant the service keeps, and
// the object store against the manifests (with --verify-data, every block's bytes against its
// checksums). Opens the store directly, so metad must be stopped: the data directory lock says
// when it is not. The object store is the one the database records unless --objects names one,
// and a store that carries another id than the database records is refused before anything is
// listed, so repair never deletes a foreign store's objects.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { SqliteStore } from "../schema/index.ts";
import { fsck, type FsckObjectSource, type FsckProgress, type FsckReport } from "../service/fsck.ts";
import { recordedStore } from "../service/store-identity.ts";
import { openObjectStore, readStoreId, redactStoreUrl, type ObjectStore } from "../objstore/index.ts";
import { wrongStoreError } from "../types/index.ts";
import { DEFAULT_CONFIG } from "../server/config.ts";
import { DataDirBusy, DataLock } from "../server/data-lock.ts";

export const FSCK_USAGE = `usage: nokv-fs fsck [--data DIR] [--objects URL|none] [--verify-data] [--repair] [--json]
  --data         metadata directory (env NOKV_DATA, default ${DEFAULT_CONFIG.dataDir}); metad must not be running on it
  --objects      object store to check blocks and leaks in (env NOKV_OBJECTS, default: the store the database
                 records); "none" skips it. A store whose id differs from the recorded one is refused
  --verify-data  read every block and check it against its checksums, with progress on stderr
  --repair       delete leaked objects, old temp files and blocks of expired prepares (nothing else is changed)
  --json         print the report as JSON
exit status: 0 clean (or every problem repaired), 1 problems found, 2 could not check`;

export interface FsckRunOptions {
  dataDir: string;
  /** null: metadata only; undefined: the store the database records. */
  objectsUrl?: string | null;
  repair?: boolean;
  verifyData?: boolean;
  onProgress?: (progress: FsckProgress) => void;
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
    readObject: (key) => store.get(key),
    ...(store.sweepTempFiles ? { tempFiles: (options: { minAgeMs: number; dryRun: boolean }) => store.sweepTempFiles!(options) } : {}),
  };
}

/** The store to check: the one named, else the one the database records. Refuses a foreign one. */
async function openCheckedStore(db: SqliteStore, dbPath: string, url: string | undefined): Promise<ObjectStore> {
  const recorded = recordedStore(db);
  const target = url ?? recorded.url;
  if (target === null) throw new FsckUsageError(`${dbPath} records no object store (metad never started on it with one); pass --objects URL`);
  const store = await openObjectStore(target);
  try {
    const found = await readStoreId(store);
    if (found !== recorded.id) throw wrongStoreError(store.url, recorded.id, found);
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
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
    objects = options.objectsUrl === null ? null : await openCheckedStore(store, dbPath, options.objectsUrl);
    return await fsck(store, store.fullScan(), {
      ...(objects ? { objects: objectSource(objects) } : {}),
      repair: options.repair === true,
      verifyData: options.verifyData === true,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    store?.close();
    await objects?.close();
    lock.release();
  }
}

function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): FsckRunOptions & { json: boolean } {
  const out = {
    dataDir: env.NOKV_DATA || DEFAULT_CONFIG.dataDir,
    objectsUrl: (env.NOKV_OBJECTS || undefined) as string | null | undefined,
    repair: false,
    verifyData: false,
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
    else if (flag === "--verify-data") out.verifyData = true;
    else if (flag === "--json") out.json = true;
    else throw new FsckUsageError(`unknown argument '${arg}'`);
  }
  return out;
}

function printReport(report: FsckReport, options: FsckRunOptions): void {
  for (const v of report.violations) console.log(`${v.kind}: ${v.message} ${JSON.stringify(v.keys)}`);
  if (report.violationsOmitted > 0) console.log(`... and ${report.violationsOmitted} more`);
  for (const t of report.leftovers.tempFiles) console.log(`leftover temp file: ${t.path} (${t.sizeBytes} bytes, ${Math.round(t.ageMs / 1000)} s old)`);
  for (const p of report.leftovers.expiredPrepares) {
    console.log(`leftover expired prepare: ${p.prepareId} under '${p.keyPrefix}/' (${p.blocks} blocks, expired ${Math.round(p.expiredAgoMs / 1000)} s ago)`);
  }
  const c = report.counts;
  const where = options.objectsUrl === null ? "no object store" : options.objectsUrl === undefined ? "the recorded object store" : `objects ${redactStoreUrl(options.objectsUrl)}`;
  const verified = options.verifyData ? `${c.blocksVerified} blocks (${c.bytesVerified} bytes) verified, ${c.blocksWithoutChecksum} without checksums, ` : "";
  console.log(
    `fsck ${options.dataDir} (${where}): ${c.mounts} mounts, ${c.inodes} inodes, ${c.dentries} entries, ${c.bodies} bodies, ` +
      `${c.blocksReferenced} blocks referenced, ${c.objectsListed} objects listed, ${verified}${c.historyRows} history rows: ` +
      `${report.ok ? "clean" : `${report.violations.length + report.violationsOmitted} problems`}`,
  );
  if (options.repair) {
    const r = report.repaired;
    console.log(`repair: ${r.objectsDeleted} leaked objects, ${r.tempFilesDeleted} temp files and ${r.expiredBlocksDeleted} blocks of expired prepares deleted, ${r.objectDeleteErrors} failed`);
  }
}

/** Progress of --verify-data on stderr: one rewritten line on a terminal, a line per 10% otherwise. */
function progressPrinter(): (p: FsckProgress) => void {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  return (p) => {
    const pct = p.blocksTotal === 0 ? 100 : Math.floor((p.blocksVerified / p.blocksTotal) * 100);
    const line = `verify-data: ${p.blocksVerified}/${p.blocksTotal} blocks, ${(p.bytesVerified / 1048576).toFixed(1)}/${(p.bytesTotal / 1048576).toFixed(1)} MiB (${pct}%)`;
    if (tty) process.stderr.write(`\r${line}${p.blocksVerified === p.blocksTotal ? "\n" : ""}`);
    else if (Math.floor(pct / 10) > lastDecile) {
      lastDecile = Math.floor(pct / 10);
      process.stderr.write(`${line}\n`);
    }
  };
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
    report = await fsckDataDir({ ...options, ...(options.verifyData && !options.json ? { onProgress: progressPrinter() } : {}) });
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
