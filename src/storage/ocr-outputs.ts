import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirDurable, writeFileDurable } from './durable-file.ts';

/**
 * OCR outputs (plain text, hOCR, ALTO), stored by their SHA-256 beside the image derivatives:
 *
 *   {derivativesDir}/ocr/ab/{sha256}.{txt|hocr|alto}
 *
 * Content-addressed, so a page read again with new models adds files and never replaces the
 * ones an older OcrCompleted names: the history stays readable. A file appears whole or not
 * at all and is on disk before the event naming it is appended (durable-file.ts).
 */
export type OcrOutputKind = 'text' | 'hocr' | 'alto';

const EXTENSION: Record<OcrOutputKind, string> = { text: 'txt', hocr: 'hocr', alto: 'alto' };

export const OCR_MEDIA_TYPE: Record<OcrOutputKind, string> = {
  text: 'text/plain; charset=utf-8',
  hocr: 'application/xhtml+xml; charset=utf-8',
  alto: 'application/xml; charset=utf-8',
};

export interface StoredOutput {
  sha256: string;
  size: number;
}

export class OcrOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcrOutputError';
  }
}

export class OcrOutputStore {
  readonly dir: string;

  constructor(derivativesDir: string) {
    this.dir = join(derivativesDir, 'ocr');
  }

  path(kind: OcrOutputKind, sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new OcrOutputError(`not a sha256: ${sha256.slice(0, 80)}`);
    return join(this.dir, sha256.slice(0, 2), `${sha256}.${EXTENSION[kind]}`);
  }

  /** Stores one output; storing the same bytes again is a no-op. */
  async put(kind: OcrOutputKind, content: string): Promise<StoredOutput> {
    const bytes = Buffer.from(content, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = this.path(kind, sha256);
    const existing = await stat(path).catch(() => undefined);
    if (existing?.size === bytes.length) return { sha256, size: bytes.length };
    const dir = join(this.dir, sha256.slice(0, 2));
    await mkdirDurable(dir);
    await writeFileDurable(dir, `${sha256}.${EXTENSION[kind]}`, bytes);
    return { sha256, size: bytes.length };
  }

  /** The stored bytes, checked against their digest: a damaged file is an error, never served. */
  async read(kind: OcrOutputKind, sha256: string): Promise<Buffer> {
    const bytes = await readFile(this.path(kind, sha256));
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw new OcrOutputError(`OCR ${kind} output ${sha256} is damaged (its bytes hash to ${actual})`);
    return bytes;
  }
}
