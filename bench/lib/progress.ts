// Progress on stderr while the harness runs: one line per step; on a terminal the line also
// spins and shows its percent until the step ends.

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const REDRAW_MS = 100;

export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = performance.now();
  private label = "";
  private fraction = -1;
  private frame = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private index = 0;
  private workloadName = "";

  constructor(private readonly totalWorkloads: number) {}

  /** Starts the next workload; its steps are prefixed with its name and number. */
  workload(name: string): void {
    this.index++;
    this.workloadName = name;
  }

  /** Starts a step; its line is final when `end` is called. */
  begin(label: string): void {
    this.label = label;
    this.fraction = -1;
    if (!this.tty) return;
    this.draw();
    this.timer ??= setInterval(() => this.draw(), REDRAW_MS);
  }

  /** Fraction of the current step done, 0..1. */
  update(fraction: number): void {
    this.fraction = fraction;
  }

  end(summary: string): void {
    const line = `${this.prefix()} ${this.label}: ${summary}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  note(text: string): void {
    process.stderr.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private prefix(): string {
    const elapsedS = ((performance.now() - this.started) / 1000).toFixed(0).padStart(4);
    return `[${elapsedS}s ${this.index}/${this.totalWorkloads} ${this.workloadName}]`;
  }

  private draw(): void {
    const spin = SPINNER[this.frame++ % SPINNER.length];
    const percent = this.fraction < 0 ? "" : ` ${Math.floor(this.fraction * 100)}%`;
    process.stderr.write(`\r\x1b[2K${this.prefix()} ${spin} ${this.label}${percent}`);
  }
}
