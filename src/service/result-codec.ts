import { Packr } from "msgpackr";
import type { ResultCodec } from "./core.ts";

// Results encoded for in-process use (tests, benchmarks, fsck): plain msgpack with bigints as
// int64. metad passes the wire's own codec instead, so the bytes it stores are the bytes it sends.

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, int64AsType: "bigint" });

export const defaultResultCodec: ResultCodec = {
  encode: (value) => packr.pack(value),
  decode: (bytes) => packr.unpack(bytes),
};
