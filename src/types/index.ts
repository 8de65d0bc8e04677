export * from "./attrs.ts";
export * from "./body.ts";
export * from "./dentry.ts";
export * from "./errno.ts";
export * from "./ids.ts";
export * from "./limits.ts";
export * from "./names.ts";
export * from "./watch.ts";
