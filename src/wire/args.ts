// Readers for a request's args, for op handlers. Each throws FsError EINVAL naming the field and
// what arrived ("args.inode must be an integer, got string"), so a client sees its own mistake.
import { FsError } from "../types/errno.ts";
import { utf8Length } from "../types/names.ts";

export type Args = Record<string, unknown>;
/** One reader; `argOptional` and op tables take any of them. */
export type ArgReader<T, O = undefined> = (args: Args, name: string, options?: O) => T;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A short, bounded description of a received value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "number") return `number ${value}`;
  if (typeof value === "bigint") return `bigint ${value}`;
  if (typeof value === "object") return isPlainObject(value) ? "map" : "object";
  return typeof value;
}

function invalid(name: string, expected: string, value: unknown): never {
  throw new FsError("EINVAL", `args.${name} must be ${expected}, got ${describeValue(value)}`);
}

export interface StringOptions {
  /** UTF-8 bytes. */
  maxBytes?: number;
  allowEmpty?: boolean;
}

export function argString(args: Args, name: string, options: StringOptions = {}): string {
  const value = args[name];
  if (typeof value !== "string") return invalid(name, "a string", value);
  if (value.length === 0 && options.allowEmpty !== true) return invalid(name, "a non-empty string", value);
  if (options.maxBytes !== undefined && utf8Length(value) > options.maxBytes) {
    throw new FsError("EINVAL", `args.${name} is ${utf8Length(value)} bytes, limit ${options.maxBytes}`);
  }
  return value;
}

export interface RangeOptions<N> {
  min?: N;
  max?: N;
}

/**
 * A safe integer. A bigint in range is accepted too: msgpack encoders of other languages often
 * send every integer as int64, which msgpackr decodes to bigint.
 */
export function argInt(args: Args, name: string, options: RangeOptions<number> = {}): number {
  const raw = args[name];
  const value = typeof raw === "bigint" && raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(raw)
    : raw;
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  // An integer beyond 2^53 decodes as bigint: say which range it missed, not that it is no integer.
  if (typeof value === "bigint") return invalid(name, `an integer in [${min}, ${max}]`, raw);
  if (typeof value !== "number" || !Number.isSafeInteger(value)) return invalid(name, "an integer", raw);
  if (value < min || value > max) return invalid(name, `an integer in [${min}, ${max}]`, raw);
  return value;
}

/** An int64 (times in ns). A safe-integer number is accepted and widened. */
export function argBigint(args: Args, name: string, options: RangeOptions<bigint> = {}): bigint {
  const raw = args[name];
  const value = typeof raw === "number" && Number.isSafeInteger(raw) ? BigInt(raw) : raw;
  if (typeof value !== "bigint") return invalid(name, "a bigint", raw);
  const { min = -(2n ** 63n), max = 2n ** 63n - 1n } = options;
  if (value < min || value > max) return invalid(name, `a bigint in [${min}, ${max}]`, raw);
  return value;
}

export function argBool(args: Args, name: string): boolean {
  const value = args[name];
  if (typeof value !== "boolean") return invalid(name, "a boolean", value);
  return value;
}

export function argBytes(args: Args, name: string, options: { maxBytes?: number } = {}): Uint8Array {
  const value = args[name];
  if (!(value instanceof Uint8Array)) return invalid(name, "bytes", value);
  if (options.maxBytes !== undefined && value.length > options.maxBytes) {
    throw new FsError("EINVAL", `args.${name} is ${value.length} bytes, limit ${options.maxBytes}`);
  }
  return value;
}

export function argMap(args: Args, name: string): Args {
  const value = args[name];
  if (!isPlainObject(value)) return invalid(name, "a map", value);
  return value;
}

export function argArray(args: Args, name: string, options: { maxLength?: number } = {}): unknown[] {
  const value = args[name];
  if (!Array.isArray(value)) return invalid(name, "an array", value);
  if (options.maxLength !== undefined && value.length > options.maxLength) {
    throw new FsError("EINVAL", `args.${name} has ${value.length} entries, limit ${options.maxLength}`);
  }
  return value;
}

/** A field that may be absent; null counts as absent, since some encoders cannot omit a key. */
export function argOptional<T, O>(args: Args, name: string, read: ArgReader<T, O>, options?: O): T | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  return read(args, name, options);
}
