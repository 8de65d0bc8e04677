import type { Command } from "commander";
import { CliContext } from "./context.ts";
import { EXIT_OK } from "./errors.ts";

// Commander calls an action with (...positional arguments, options, command) and ignores what it
// returns; this wraps a handler so it gets a CliContext, its exit code is kept, its client is
// closed however it ends, and a failure names the command it came from.

export type Handler<O, A extends unknown[]> = (ctx: CliContext, opts: O, ...args: A) => Promise<number | void>;

/** A failure inside a command, with the command's full name (`snapshot create`) for the message. */
export class CommandFailure extends Error {
  override name = "CommandFailure";
  constructor(
    readonly command: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export class Runner {
  exitCode = EXIT_OK;

  action<O, A extends unknown[]>(handler: Handler<O, A>): (...all: unknown[]) => Promise<void> {
    return async (...all: unknown[]) => {
      const cmd = all[all.length - 1] as Command;
      const opts = all[all.length - 2] as O;
      const args = all.slice(0, -2) as A;
      const ctx = CliContext.of(cmd);
      try {
        this.exitCode = (await handler(ctx, opts, ...args)) ?? EXIT_OK;
      } catch (err) {
        throw new CommandFailure(commandName(cmd), err);
      } finally {
        await ctx.close();
      }
    };
  }
}

/** `snapshot create`, not just `create`: the program's own name is left out. */
export function commandName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
