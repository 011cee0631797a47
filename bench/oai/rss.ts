import { readFileSync } from 'node:fs';

/** A process's resident set now (VmRSS) and its peak so far (VmHWM), in bytes; null once it is gone. */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export interface RssSample {
  /** Seconds since the sampler started. */
  t: number;
  rss: number;
  hwm: number;
  /** What the bench was doing (a label it set), e.g. "thukho harvest 2". */
  phase: string;
  /** Records harvested so far in that phase (set by the bench). */
  records: number;
}

/** Samples /proc/PID/status every `everyMs` (100 ms); the bench labels the samples with set(). */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout;
  private readonly t0 = performance.now();
  private phase = 'idle';
  private records = 0;

  constructor(private readonly pid: number, everyMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  set(phase: string, records = 0): void {
    this.phase = phase;
    this.records = records;
  }

  sample(): RssSample | null {
    const m = memoryOf(this.pid);
    if (!m) return null;
    const s = { t: (performance.now() - this.t0) / 1000, rss: m.rss, hwm: m.hwm, phase: this.phase, records: this.records };
    this.samples.push(s);
    return s;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The samples of one phase. */
  of(phase: string): RssSample[] {
    return this.samples.filter((s) => s.phase === phase);
  }
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
