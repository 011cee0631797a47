/**
 * The reference: Debian's tesseract CLI (tesseract-ocr 5) reading the bench's PNG files one
 * page per process, as REFERENCE.md measured it, on one thread (OMP_THREAD_LIMIT=1). Given
 * the traineddata our engine reads (the @tesseract.js-data packages' 4.0.0_best_int files,
 * unpacked into a temporary tessdata directory) and, when installed, Debian's own
 * (tesseract-ocr-vie, tesseract-ocr-chi-tra-vert: tessdata_fast 4.1.0).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { modelPath } from '../../src/ocr/tesseract-engine.ts';
import type { Traineddata } from '../../src/ocr/languages.ts';

const run = promisify(execFile);
const DEBIAN_TESSDATA = '/usr/share/tesseract-ocr/5/tessdata';

export interface NativeTessdata {
  label: string;
  dir: string;
  /** A directory this bench made and removes. */
  temporary: boolean;
}

/** `tesseract --version`'s first line, or undefined when the CLI is not installed. */
export function nativeVersion(): string | undefined {
  const version = spawnSync('tesseract', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return undefined;
  return `${version.stdout}${version.stderr}`.split('\n')[0]?.trim();
}

export function sameTessdata(codes: Traineddata[]): NativeTessdata {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-bench-tessdata-'));
  for (const code of codes) writeFileSync(join(dir, `${code}.traineddata`), gunzipSync(readFileSync(modelPath(code))));
  return { label: '4.0.0_best_int, as ours', dir, temporary: true };
}

/** Debian's tessdata when it has every one of `codes`. */
export function debianTessdata(codes: Traineddata[]): NativeTessdata | undefined {
  if (!codes.every((code) => existsSync(join(DEBIAN_TESSDATA, `${code}.traineddata`)))) return undefined;
  return { label: "Debian's tessdata_fast", dir: DEBIAN_TESSDATA, temporary: false };
}

export function removeTessdata(data: NativeTessdata): void {
  if (data.temporary) rmSync(data.dir, { recursive: true, force: true });
}

/** GNU time, which reports a process's CPU seconds (Debian `time`); without it only wall time is measured. */
const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME);

/**
 * One page read by one tesseract process: its text (stdout), the wall time of the process and,
 * when GNU time is installed, its CPU time (user + system), which other work on a shared
 * machine disturbs far less than the wall time.
 */
export async function readNative(png: string, language: Traineddata, psm: number, data: NativeTessdata): Promise<{ text: string; seconds: number; cpuSeconds?: number }> {
  const command = ['tesseract', png, 'stdout', '-l', language, '--psm', String(psm), '--tessdata-dir', data.dir];
  const timeFile = `${png}.time`;
  const [file, ...args] = hasGnuTime ? [GNU_TIME, '-o', timeFile, '-f', '%U %S', ...command] : command;
  const start = performance.now();
  const { stdout } = await run(file as string, args, { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  if (!hasGnuTime) return { text: stdout.normalize('NFC'), seconds };
  const [user = NaN, system = NaN] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
  unlinkSync(timeFile);
  return { text: stdout.normalize('NFC'), seconds, cpuSeconds: user + system };
}
