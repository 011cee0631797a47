import Router from '@koa/router';
import type { Context } from 'koa';
import { contentSearchResponse, type SearchablePage } from '../../iiif/content-search.ts';
import { buildTextAnnotationPage } from '../../iiif/text-annotations.ts';
import { queryTerms } from '../../search/text-folding.ts';
import { canvasImageIds } from '../../projections/manifest-read-model.ts';
import { findPageText, workPageTexts } from '../../projections/page-text-read-model.ts';
import { compress } from '../compress.ts';
import { Problem } from '../problem.ts';
import { publicBase } from '../public-base.ts';
import { MAX_QUERY_CHARS } from '../site/request.ts';
import type { AppServices } from '../services.ts';
import { PRESENTATION_3_MEDIA_TYPE, readModel, validId, validPageImageId, allowedManifest } from './iiif-presentation.ts';

/**
 * A work's page text over IIIF: each canvas's supplementing AnnotationPage
 * (`/iiif/text/{objectId}/{imageId}`, the canvas's page image) and Content Search 2 (`/iiif/search/{objectId}?q=`).
 * Both are the work's content (domain/access-decision.ts): a confidential work does not exist
 * for the public, a restricted one asks to sign in, even though its manifest is public.
 */
const SEARCH_2_MEDIA_TYPE = 'application/ld+json;profile="http://iiif.io/api/search/2/context.json"';

/** Parameters Content Search 2 defines that we do not implement: ignored and reported (§3.2.1). */
const IMPLEMENTED = new Set(['q', 'motivation', 'page']);

function badQuery(code: string, messages: { vi: string; en: string }): Problem {
  return new Problem(400, code, messages);
}

interface SearchParams {
  q: string;
  motivation?: string[];
  page: number;
  ignored: string[];
}

export function contentSearchParams(raw: string): SearchParams {
  const params = new URLSearchParams(raw);
  for (const name of IMPLEMENTED) {
    if (params.getAll(name).length > 1) {
      throw badQuery('repeated-parameter', { vi: `Tham số "${name}" chỉ được có một lần.`, en: `The "${name}" parameter may be given once only.` });
    }
  }
  const q = (params.get('q') ?? '').normalize('NFC').trim();
  if (!q) {
    throw badQuery('missing-query', {
      vi: 'Hãy cho từ cần tìm trong tham số q, ví dụ ?q=Bắc Giang.',
      en: 'Give the words to find in the q parameter, e.g. ?q=Bắc Giang.',
    });
  }
  if (q.length > MAX_QUERY_CHARS) {
    throw badQuery('query-too-long', {
      vi: `Từ cần tìm dài ${q.length} ký tự; tối đa ${MAX_QUERY_CHARS}.`,
      en: `The query is ${q.length} characters long; at most ${MAX_QUERY_CHARS} are allowed.`,
    });
  }
  if (queryTerms(q).length === 0) {
    throw badQuery('no-words', {
      vi: `"${q}" không có chữ nào để tìm (chỉ có dấu câu hoặc ký hiệu).`,
      en: `"${q}" has no words to search for (only punctuation or symbols).`,
    });
  }
  const rawPage = params.get('page');
  if (rawPage !== null && !/^[1-9]\d{0,5}$/.test(rawPage)) {
    throw badQuery('invalid-page', {
      vi: `Số trang kết quả phải là số nguyên dương; nhận được "${rawPage.slice(0, 20)}".`,
      en: `The result page must be a positive integer; got "${rawPage.slice(0, 20)}".`,
    });
  }
  const motivation = params.get('motivation')?.split(/\s+/).filter(Boolean);
  const ignored = [...new Set([...params.keys()].filter((k) => !IMPLEMENTED.has(k)).map((k) => k.slice(0, 50)))];
  return { q, ...(motivation?.length ? { motivation } : {}), page: rawPage === null ? 1 : Number(rawPage), ignored };
}

/** Cache-Control is the access decision's, set by allowedManifest. */
function send(ctx: Context, body: Record<string, unknown>, mediaType: string): void {
  ctx.set('Content-Type', mediaType);
  ctx.body = JSON.stringify(body);
}

export function textRoutes(services: AppServices): Router {
  const router = new Router();
  const { readDb, config } = services;

  const coded = compress();

  router.get('/iiif/text/:objectId/:imageId', coded, async (ctx) => {
    const objectId = validId(ctx.params.objectId, 'object');
    const imageId = validPageImageId(ctx.params.imageId);
    allowedManifest(ctx, readDb, objectId, 'content');
    const isCanvas = readModel(() => canvasImageIds(readDb, objectId)).includes(imageId);
    const text = isCanvas ? readModel(() => findPageText(readDb, objectId, imageId)) : undefined;
    const base = publicBase(config.publicUrl, ctx);
    const page = text && buildTextAnnotationPage(base, objectId, imageId, text);
    if (!page) {
      throw new Problem(404, 'no-text', {
        vi: `Trang "${imageId}" của tài liệu "${objectId}" chưa có văn bản.`,
        en: `Page "${imageId}" of object "${objectId}" has no text yet.`,
      }, { objectId, imageId });
    }
    send(ctx, page, PRESENTATION_3_MEDIA_TYPE);
  });

  router.get('/iiif/search/:objectId', coded, async (ctx) => {
    const objectId = validId(ctx.params.objectId, 'object');
    const params = contentSearchParams(ctx.querystring);
    allowedManifest(ctx, readDb, objectId, 'content');
    const texts = readModel(() => workPageTexts(readDb, objectId));
    const pages: SearchablePage[] = readModel(() => canvasImageIds(readDb, objectId)).flatMap((imageId) => {
      const text = texts.get(imageId);
      return text ? [text] : [];
    });
    const base = publicBase(config.publicUrl, ctx);
    const answer = contentSearchResponse({ base, objectId, ...params }, pages);
    if (answer.status === 'no-page') {
      throw new Problem(404, 'no-such-page', {
        vi: `Kết quả tìm kiếm chỉ có ${answer.pages} trang.`,
        en: `The search results have ${answer.pages} page(s) only.`,
      }, { pages: answer.pages });
    }
    ctx.vary('Authorization');
    send(ctx, answer.body, SEARCH_2_MEDIA_TYPE);
  });

  return router;
}
