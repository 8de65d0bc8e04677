// `bun run metad`: starts metad on the embedded defaults (or flags / NOKV_* variables), logs one
// line when ready, and shuts down cleanly on SIGTERM or SIGINT.
import { ConfigError, parseConfig, USAGE } from "./config.ts";
import { Metad, StartupError } from "./metad.ts";

export async function runMetad(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let metad: Metad;
  try {
    metad = await Metad.start(parseConfig(argv, process.env));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      console.error(`metad: ${err.message}`);
      return err instanceof ConfigError ? 2 : 1;
    }
    throw err;
  }
  const { host, port } = metad.address;
  const { config } = metad;
  console.log(
    `metad ready on ${host.includes(":") ? `[${host}]` : host}:${port} (${config.tlsCertFile ? "tls: nokvs:// + https" : "rpc + http"}), data ${config.dataDir} (${config.durability} durability), objects ${metad.objects.url}${config.cluster ? `, replica ${config.cluster.replicaId} of ${config.cluster.root} via etcd ${config.cluster.etcd.join(",")}` : ""}`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`metad: ${signal}, finishing in-flight work`);
      metad.stop().then(
        () => {
          console.log("metad: stopped cleanly");
          resolve(0);
        },
        (err) => {
          console.error(`metad: stop failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

if (import.meta.main) process.exit(await runMetad(process.argv.slice(2)));
