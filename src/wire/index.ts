export * from "./args.ts";
export * from "./codec.ts";
export * from "./frame.ts";
export * from "./messages.ts";
export * from "./msgpack-guard.ts";
export * from "./results.ts";
export * from "./raw-reply.ts";
