// Benchmark sizes. The first four mirror the reference NoKV harness so figures compare like for
// like (DESIGN.md section 8): mdtest-easy dirs x files, mdtest-hard shared-dir files,
// checkpoints x size, sample size. The rest are this harness's own, sized for the time budget
// (smoke under 2 minutes, standard under 15 on the project's 2-core machine).

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Profile {
  name: "smoke" | "standard" | "long";
  easyDirs: number;
  easyFilesPerDir: number;
  hardFiles: number;
  /** Clients sharing the one mdtest-hard directory. */
  hardClients: number;
  checkpointCount: number;
  checkpointBytes: number;
  sampleBytes: number;
  sampleCount: number;
  /** Files in the store-footprint tree (the reference counts 100,000). */
  footprintFiles: number;
  /** Entries of the big readdir (paged). */
  bigDirEntries: number;
  /** Operations of each storm (stat, lookup, rename) and of the agent op mix. */
  stormOps: number;
  agentOps: number;
  /** At most this many operations per phase for the peer, which runs far slower; its rate is per op. */
  peerMaxOps: number;
  /** At most this many files in the peer's footprint and big-directory trees. */
  peerMaxFiles: number;
}

export const PROFILES: Record<Profile["name"], Profile> = {
  smoke: {
    name: "smoke", easyDirs: 8, easyFilesPerDir: 64, hardFiles: 512, hardClients: 8,
    checkpointCount: 128, checkpointBytes: 4 * KiB, sampleBytes: 512, sampleCount: 1_000,
    footprintFiles: 10_000, bigDirEntries: 100_000, stormOps: 20_000, agentOps: 4_000,
    peerMaxOps: 1_000, peerMaxFiles: 2_000,
  },
  standard: {
    name: "standard", easyDirs: 32, easyFilesPerDir: 256, hardFiles: 8_192, hardClients: 32,
    checkpointCount: 1_024, checkpointBytes: 1 * MiB, sampleBytes: 16 * KiB, sampleCount: 4_096,
    footprintFiles: 100_000, bigDirEntries: 100_000, stormOps: 100_000, agentOps: 20_000,
    peerMaxOps: 4_096, peerMaxFiles: 10_000,
  },
  long: {
    name: "long", easyDirs: 64, easyFilesPerDir: 1_024, hardFiles: 65_536, hardClients: 64,
    checkpointCount: 4_096, checkpointBytes: 8 * MiB, sampleBytes: 256 * KiB, sampleCount: 8_192,
    footprintFiles: 100_000, bigDirEntries: 100_000, stormOps: 500_000, agentOps: 100_000,
    peerMaxOps: 16_384, peerMaxFiles: 100_000,
  },
};

export function sizeLabel(bytes: number): string {
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  if (bytes >= KiB) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}
