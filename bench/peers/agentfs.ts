// The peer: Turso's AgentFS TypeScript SDK (`agentfs-sdk`), an SQLite agent filesystem, driven
// through its own fs-like API in this process. Loaded lazily: when it cannot load, the harness
// prints its rows as unavailable with the reason instead of failing.
import { existsSync, readFileSync, statSync } from "node:fs";

export interface PeerFs {
  stat(path: string): Promise<unknown>;
  lstat(path: string): Promise<unknown>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: string | Buffer): Promise<void>;
  readdir(path: string): Promise<string[]>;
  readdirPlus(path: string): Promise<unknown[]>;
  mkdir(path: string): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export interface AgentFsPeer {
  label: string;
  fs: PeerFs;
  /** Bytes of its database and WAL on disk. */
  dbBytes(): number;
  close(): Promise<void>;
}

export type PeerOpen = { ok: true; peer: AgentFsPeer } | { ok: false; reason: string };

export function agentFsVersion(): string | null {
  try {
    const url = import.meta.resolve("agentfs-sdk/package.json");
    return (JSON.parse(readFileSync(new URL(url), "utf8")) as { version: string }).version;
  } catch {
    try {
      const path = new URL("../../node_modules/agentfs-sdk/package.json", import.meta.url);
      return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
    } catch {
      return null;
    }
  }
}

/** Opens a fresh AgentFS database at `path`. */
export async function openAgentFs(path: string): Promise<PeerOpen> {
  try {
    const { AgentFS } = (await import("agentfs-sdk")) as { AgentFS: { open(o: { path: string }): Promise<{ fs: PeerFs; close(): Promise<void> }> } };
    const agent = await AgentFS.open({ path });
    const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
    return {
      ok: true,
      peer: {
        label: `AgentFS (agentfs-sdk ${agentFsVersion() ?? "?"})`,
        fs: agent.fs,
        dbBytes: () => size(path) + size(`${path}-wal`),
        close: () => agent.close(),
      },
    };
  } catch (err) {
    return { ok: false, reason: (err as Error).message.split("\n")[0]! };
  }
}
