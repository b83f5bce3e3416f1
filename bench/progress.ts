// Progress of a long benchmark on stderr: each step (one program at one N) announces
// where the run stands, how long it has taken and a rough time left (the mean step time so
// far times the steps left: dense attention at the largest N dominates, so early estimates
// run long or short — the count is exact, the time is a hint).

export class Progress {
  private done = 0;
  private readonly start: number;

  constructor(
    private readonly total: number,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  /** Announce the next step: `[3/12 · 1m 05s elapsed · ~2m 10s left] sliding N=2048`. */
  step(label: string): void {
    const elapsed = this.now() - this.start;
    const left = this.done > 0 ? `~${duration(((this.total - this.done) * elapsed) / this.done)} left` : 'time left: after the first step';
    this.done++;
    this.write(`[${this.done}/${this.total} · ${duration(elapsed)} elapsed · ${left}] ${label}`);
  }
}

/** `45s`, `3m 07s`, `1h 02m`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
