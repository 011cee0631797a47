/**
 * A progress line for long CLI work (rebuilds, verification, bulk ingest): redrawn in place
 * on a terminal, a plain line every few seconds when stderr is a log file.
 */
export interface Progress {
  update(done: number, total?: number, detail?: string): void;
  finish(message: string): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function progress(label: string, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let lastDraw = 0;
  const tty = stream.isTTY === true;
  const line = (done: number, total?: number, detail?: string) => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts = [`${label}: ${done.toLocaleString('en-US')}${total ? ` / ${total.toLocaleString('en-US')}` : ''} ${unit}`];
    if (total) {
      const pct = Math.min(100, (done / total) * 100);
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      parts.unshift(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(1).padStart(5)}%`);
      parts.push(`ETA ${formatDuration(rate > 0 ? (total - done) / rate : Number.NaN)}`);
    }
    parts.push(`${Math.round(rate).toLocaleString('en-US')} ${unit}/s`);
    if (detail) parts.push(detail);
    return parts.join('  ');
  };
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - lastDraw < (tty ? 100 : 5000)) return;
      lastDraw = now;
      stream.write(tty ? `\r\x1b[2K${line(done, total, detail)}` : `${line(done, total, detail)}\n`);
    },
    finish(message) {
      stream.write(tty ? `\r\x1b[2K${message}\n` : `${message}\n`);
    },
  };
}
