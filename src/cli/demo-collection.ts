import { executeCollectionCommand, executeObjectCommand, collectionStream, loadObject } from '../application/object-commands.ts';
import { type CommandContext, streamExists } from '../application/command-handler.ts';
import type { Metadata, AccessLevel } from '../domain/metadata.ts';
import { Readable } from 'node:stream';
import { type IngestServices, ingestFile } from '../application/ingest.ts';
import { type DemoWork, renderDemoWorkPage } from './demo-pages.ts';

/**
 * The demo collection `thukho demo` registers: a handful of well-known Vietnamese works
 * catalogued as a provincial library would, with Han-Nôm titles and reign-era dates, so
 * that search, folding and the year normaliser have something real to show. Idempotent:
 * fixed ids, and what exists already is left alone.
 */
export const DEMO_COLLECTION = {
  collectionId: 'han-nom-demo',
  title: 'Tư liệu Hán Nôm và Quốc ngữ (bộ sưu tập mẫu)',
  description: 'Bộ sưu tập mẫu của Thư khố: một số văn bản Hán Nôm và sách Quốc ngữ cổ tiêu biểu. / A sample collection of Han-Nôm and early Quốc ngữ works.',
};

const RIGHTS_PD = 'http://rightsstatements.org/vocab/NoC-US/1.0/';

export const DEMO_OBJECTS: Array<{ id: string; accessLevel: AccessLevel; metadata: Metadata }> = [
  {
    id: 'truyen-kieu-1871',
    accessLevel: 'open',
    metadata: {
      title: 'Kim Vân Kiều tân truyện',
      alternativeTitle: ['金雲翹新傳', 'Truyện Kiều', 'Đoạn trường tân thanh'],
      creator: 'Nguyễn Du (1766–1820)',
      date: 'Tự Đức thứ 24',
      language: ['vie', 'lzh'],
      subject: 'Truyện thơ Nôm; Văn học Việt Nam — thế kỷ 19',
      description: 'Bản khắc gỗ chữ Nôm, 3254 câu lục bát. Bản in của Liễu Văn đường.',
      type: 'Text',
      format: 'Sách in mộc bản',
      identifier: 'HN-0001',
      source: 'Thư viện tỉnh, kho Hán Nôm',
      rights: RIGHTS_PD,
      extent: '1 cuốn (82 tờ)',
      collectionId: 'han-nom-demo',
    },
  },
  {
    id: 'dai-nam-thuc-luc',
    accessLevel: 'open',
    metadata: {
      title: 'Đại Nam thực lục',
      alternativeTitle: ['大南寔錄'],
      creator: 'Quốc sử quán triều Nguyễn',
      date: 'thế kỷ XIX',
      language: ['lzh'],
      subject: 'Lịch sử Việt Nam; Triều Nguyễn',
      description: 'Bộ chính sử biên niên của triều Nguyễn (quyển lẻ).',
      type: 'Text',
      format: 'Sách in mộc bản',
      identifier: 'HN-0002',
      rights: RIGHTS_PD,
      collectionId: 'han-nom-demo',
    },
  },
  {
    id: 'gia-dinh-thanh-thong-chi',
    accessLevel: 'restricted',
    metadata: {
      title: 'Gia Định thành thông chí',
      alternativeTitle: ['嘉定城通志'],
      creator: 'Trịnh Hoài Đức',
      date: 'Minh Mạng năm thứ 1',
      language: ['lzh'],
      subject: 'Địa chí; Nam Bộ',
      description: 'Địa chí vùng Gia Định, bản chép tay.',
      type: 'Text',
      format: 'Bản chép tay',
      identifier: 'HN-0003',
      rights: RIGHTS_PD,
      collectionId: 'han-nom-demo',
    },
  },
  {
    id: 'luc-van-tien-1889',
    accessLevel: 'open',
    metadata: {
      title: 'Lục Vân Tiên',
      alternativeTitle: ['蓼雲仙'],
      creator: 'Nguyễn Đình Chiểu',
      date: '1889',
      language: ['vie'],
      subject: 'Truyện thơ; Văn học Nam Bộ',
      description: 'Bản Quốc ngữ in tại Sài Gòn, chữ Quốc ngữ buổi đầu.',
      type: 'Text',
      format: 'Sách in',
      identifier: 'QN-0001',
      rights: RIGHTS_PD,
      collectionId: 'han-nom-demo',
    },
  },
  {
    id: 'nam-phong-tap-chi-1917',
    accessLevel: 'open',
    metadata: {
      title: 'Nam Phong tạp chí, số 1',
      creator: 'Phạm Quỳnh (chủ bút)',
      date: 'tháng 7 năm 1917',
      language: ['vie', 'lzh', 'fra'],
      subject: 'Báo chí Việt Nam — thời Pháp thuộc',
      description: 'Tạp chí song ngữ Quốc ngữ – Hán văn, kèm phần tiếng Pháp.',
      type: 'Text',
      format: 'Tạp chí in',
      identifier: 'QN-0002',
      rights: RIGHTS_PD,
      collectionId: 'han-nom-demo',
    },
  },
];

export const DEMO_PAGES = 3;

/** What a demo work's pages are rendered from: its title (its Han title on a Han page) and languages. */
export function demoWork(o: (typeof DEMO_OBJECTS)[number]): DemoWork {
  const hanTitle = o.metadata.alternativeTitle?.find((t) => /^\p{Script=Han}+$/u.test(t));
  return { id: o.id, title: o.metadata.title ?? o.id, languages: o.metadata.language ?? [], ...(hanTitle ? { hanTitle } : {}) };
}

/** Seeds the demo collection: every demo work, or only those named in `only` (tests that need a few). */
export async function seedDemo(ingest: IngestServices, context: CommandContext, only?: readonly string[]): Promise<{ created: number; position: bigint | null }> {
  const { store } = ingest;
  let created = 0;
  let position: bigint | null = null;
  if (!(await streamExists(store, collectionStream(DEMO_COLLECTION.collectionId)))) {
    const r = await executeCollectionCommand(store, { type: 'CreateCollection', ...DEMO_COLLECTION }, context);
    position = r.position ?? position;
    created++;
  }
  for (const o of DEMO_OBJECTS.filter((d) => !only || only.includes(d.id))) {
    const { state } = await loadObject(store, o.id);
    if (state.status !== 'absent') continue;
    const r = await executeObjectCommand(store, { type: 'RegisterObject', objectId: o.id, metadata: o.metadata, accessLevel: o.accessLevel }, context);
    position = r.position ?? position;
    created++;
    for (let folio = 1; folio <= DEMO_PAGES; folio++) {
      const page = await renderDemoWorkPage(demoWork(o), folio);
      const done = await ingestFile(ingest, { objectId: o.id, source: Readable.from([page.tiff]), name: `trang_${folio}.tif`, role: 'master', ...context });
      position = done.position ?? position;
    }
  }
  return { created, position };
}
