import { type EventData, parseEventData } from '../domain/events.ts';
import { textImageId } from '../domain/page-image.ts';
import type { WordBox } from '../search/port.ts';
import { WORK_STREAM_PREFIXES, workStream } from './decode.ts';
import type { Projection } from './projection.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * The latest text of each page (file) of a work, with its word boxes and languages: what the
 * IIIF text annotations and Content Search read. PageTextRecorded stands on the preservation
 * stream (older logs: the object stream); a later record for a file replaces the earlier one,
 * so a row keeps the log position it came from and an older event delivered again changes
 * nothing. Who may read a page is not kept here: the routes ask the manifests' access level.
 *
 * Beside it, the current OCR reading of each page: its latest OcrCompleted, whose text, hOCR
 * and ALTO files (stored by digest) the /iiif/ocr routes serve. A page read again with new
 * models gets a new current reading; the older OcrCompleted stay in the log, and their files
 * in the store, as history.
 */
export interface PageTextRow {
  imageId: string;
  text: string;
  words?: WordBox[];
  language?: string[];
}

interface StoredRow {
  image_id: string;
  text: string;
  words: string | null;
  language: string | null;
}

function fromRow(row: StoredRow): PageTextRow {
  return {
    imageId: row.image_id,
    text: row.text,
    ...(row.words ? { words: JSON.parse(row.words) as WordBox[] } : {}),
    ...(row.language ? { language: JSON.parse(row.language) as string[] } : {}),
  };
}

/** A page's current OCR reading: which engine read it, and its outputs by digest. */
export interface OcrReading {
  imageId: string;
  /** The OcrCompleted this reading comes from. */
  eventId: string;
  engine: { name: string; version: string };
  languages: string[];
  outputs: EventData<'OcrCompleted'>['outputs'];
}

interface StoredReading {
  image_id: string;
  event_id: string;
  engine: string;
  languages: string;
  outputs: string;
}

function fromReading(row: StoredReading): OcrReading {
  return {
    imageId: row.image_id,
    eventId: row.event_id,
    engine: JSON.parse(row.engine) as OcrReading['engine'],
    languages: JSON.parse(row.languages) as string[],
    outputs: JSON.parse(row.outputs) as OcrReading['outputs'],
  };
}

export const pageTextReadModel: Projection = {
  name: 'page-text',
  // 2: the current OCR reading of each page (ocr_readings).
  version: 2,
  filter: { streamPrefixes: [...WORK_STREAM_PREFIXES], eventTypes: ['PageTextRecorded', 'OcrCompleted'] },

  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS iiif_page_texts (
        object_id TEXT NOT NULL,
        image_id  TEXT NOT NULL,
        position  INTEGER NOT NULL,  -- log position of the record kept
        text      TEXT NOT NULL,
        words     TEXT,              -- [WordBox] (JSON) or NULL
        language  TEXT,              -- [ISO 639-3] (JSON) or NULL
        source    TEXT NOT NULL,
        PRIMARY KEY (object_id, image_id)
      );
      CREATE TABLE IF NOT EXISTS ocr_readings (
        object_id TEXT NOT NULL,
        image_id  TEXT NOT NULL,
        position  INTEGER NOT NULL,  -- log position of the OcrCompleted kept
        event_id  TEXT NOT NULL,
        engine    TEXT NOT NULL,     -- {name, version} (JSON)
        languages TEXT NOT NULL,     -- [code] (JSON)
        outputs   TEXT NOT NULL,     -- {text, hocr, alto: {sha256, size}} (JSON)
        PRIMARY KEY (object_id, image_id)
      );
    `);
  },

  reset(db) {
    db.exec('DROP TABLE IF EXISTS iiif_page_texts; DROP TABLE IF EXISTS ocr_readings;');
  },

  apply(db, events) {
    const put = db.prepare(
      `INSERT INTO iiif_page_texts (object_id, image_id, position, text, words, language, source) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (object_id, image_id) DO UPDATE SET position = excluded.position, text = excluded.text,
         words = excluded.words, language = excluded.language, source = excluded.source
       WHERE excluded.position > iiif_page_texts.position`,
    );
    const putReading = db.prepare(
      `INSERT INTO ocr_readings (object_id, image_id, position, event_id, engine, languages, outputs) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (object_id, image_id) DO UPDATE SET position = excluded.position, event_id = excluded.event_id,
         engine = excluded.engine, languages = excluded.languages, outputs = excluded.outputs
       WHERE excluded.position > ocr_readings.position`,
    );
    for (const e of events) {
      const work = workStream(e);
      if (!work) continue;
      if (e.type === 'OcrCompleted') {
        const reading = parseEventData('OcrCompleted', e.metadata.schemaVersion, e.data);
        putReading.run(
          work.objectId,
          textImageId(reading),
          Number(e.position),
          e.id,
          JSON.stringify({ name: reading.engine.name, version: reading.engine.version }),
          JSON.stringify(reading.languages),
          JSON.stringify(reading.outputs),
        );
        continue;
      }
      if (e.type !== 'PageTextRecorded') continue;
      const data = parseEventData('PageTextRecorded', e.metadata.schemaVersion, e.data);
      put.run(
        work.objectId,
        textImageId(data),
        Number(e.position),
        data.text,
        data.words?.length ? JSON.stringify(data.words) : null,
        data.language?.length ? JSON.stringify(data.language) : null,
        data.source,
      );
    }
  },
};

/** One page's text; undefined when none was recorded. */
export function findPageText(db: ReadModelDb, objectId: string, imageId: string): PageTextRow | undefined {
  const row = db
    .prepare<[string, string], StoredRow>('SELECT image_id, text, words, language FROM iiif_page_texts WHERE object_id = ? AND image_id = ?')
    .get(objectId, imageId);
  return row ? fromRow(row) : undefined;
}

/** Every page of a work that has text, by file id. */
export function workPageTexts(db: ReadModelDb, objectId: string): Map<string, PageTextRow> {
  const rows = db.prepare<[string], StoredRow>('SELECT image_id, text, words, language FROM iiif_page_texts WHERE object_id = ?').all(objectId);
  return new Map(rows.map((r) => [r.image_id, fromRow(r)]));
}

/** The current OCR reading of one page; undefined when the page was never read by OCR. */
export function findOcrReading(db: ReadModelDb, objectId: string, imageId: string): OcrReading | undefined {
  const row = db
    .prepare<[string, string], StoredReading>('SELECT image_id, event_id, engine, languages, outputs FROM ocr_readings WHERE object_id = ? AND image_id = ?')
    .get(objectId, imageId);
  return row ? fromReading(row) : undefined;
}
