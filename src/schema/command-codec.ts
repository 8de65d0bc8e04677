import { Packr } from "msgpackr";
import type { MetadataCommand } from "./command.ts";

// The log's encoding of a command: msgpack, no records or shared structures (an entry decodes
// alone, in any language), bigints (nanosecond times) as int64 and back, results as bin.

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  int64AsType: "bigint",
});

export function encodeCommand(command: MetadataCommand): Uint8Array {
  return packr.pack(command);
}

export function decodeCommand(bytes: Uint8Array): MetadataCommand {
  const command = packr.unpack(bytes) as MetadataCommand;
  if (typeof command !== "object" || command === null || typeof command.version !== "number" || typeof command.shard !== "number") {
    throw new Error("metadata corrupt: a command log entry does not decode to a command");
  }
  return command;
}
