import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { objectProvenance } from '../../application/provenance.ts';
import type { AccessSubject } from '../../domain/access-decision.ts';
import { isStaff } from '../../domain/access-policy.ts';
import { METADATA_FIELDS } from '../../domain/metadata.ts';
import { rangeCanvases, readingPages } from '../../domain/page-structure.ts';
import { type RecordLinks, dublinCoreXml } from '../../formats/dublin-core.ts';
import { type MetsFile, type MetsFileGroup, metsId, metsXml } from '../../formats/mets.ts';
import { modsXml } from '../../formats/mods.ts';
import { premisElement } from '../../formats/premis.ts';
import { imageServiceUrl, manifestUrl, ocrOutputUrl } from '../../iiif/manifest.ts';
import { type ObjectView, findObject } from '../../projections/object-read-model.ts';
import { findOcrReading } from '../../projections/page-text-read-model.ts';
import { OCR_MEDIA_TYPE } from '../../storage/ocr-outputs.ts';
import { objectAccess } from '../access.ts';
import { staffFor } from '../object-views.ts';
import { authOf } from '../auth.ts';
import { notModified } from '../etag.ts';
import { Problem } from '../problem.ts';
import { publicBase } from '../public-base.ts';
import type { AppServices } from '../services.ts';
import { validId } from './iiif-presentation.ts';

/**
 * A work's record for other libraries' systems: simple Dublin Core (`dc.xml`, as OAI-PMH
 * serves it), MODS (`mods.xml`) and a METS package description (`mets.xml`).
 *
 * Access follows the one decision: Dublin Core and MODS are the catalogue record (public for a
 * restricted work, as its page is); METS lists the files with their checksums and where to
 * fetch them, so it is the work's content: a restricted work's METS is for signed-in readers.
 * Its PREMIS provenance (who did what, and why) is what /api/objects/:id/provenance shows
 * staff only, so it is in the METS only for staff.
 */
export function exportRoutes(services: AppServices): Router {
  const router = new Router();
  const { readDb, config, store } = services;

  const lookup = (ctx: Context, what: AccessSubject): ObjectView => {
    const id = validId(ctx.params.id, 'object');
    const notFound = () => new Problem(404, 'not-found', { vi: `Không tìm thấy tài liệu "${id}".`, en: `Object "${id}" does not exist.` }, { objectId: id });
    return objectAccess(ctx, findObject(readDb, id, authOf(ctx).viewer, what), notFound).object;
  };

  const linksOf = (ctx: Context, view: ObjectView): { base: string; links: RecordLinks } => {
    const base = publicBase(config.publicUrl, ctx);
    return { base, links: { page: `${base}/objects/${view.id}`, ...(view.pages.length > 0 ? { manifest: manifestUrl(base, view.id) } : {}) } };
  };

  /** The body's digest is its ETag: it changes with the record, the files, the public base and (METS) who asks. */
  const send = (ctx: Context, xml: string, fileName: string, lastModified?: string): void => {
    if (lastModified) ctx.set('Last-Modified', new Date(lastModified).toUTCString());
    ctx.vary('Authorization');
    ctx.vary('Cookie');
    if (notModified(ctx, `"${createHash('sha256').update(xml).digest('base64url').slice(0, 27)}"`)) return;
    ctx.status = 200;
    ctx.type = 'application/xml; charset=utf-8';
    ctx.set('Content-Disposition', `inline; filename="${fileName}"`);
    ctx.body = xml;
  };

  router.get('/api/objects/:id/dc.xml', (ctx) => {
    const view = lookup(ctx, 'record');
    send(ctx, dublinCoreXml(metadataOf(view), view.id, linksOf(ctx, view).links), `dc-${view.id}.xml`, view.updatedAt);
  });

  router.get('/api/objects/:id/mods.xml', (ctx) => {
    const view = lookup(ctx, 'record');
    send(ctx, modsXml(metadataOf(view), view.id, linksOf(ctx, view).links), `mods-${view.id}.xml`, view.updatedAt);
  });

  router.get('/api/objects/:id/mets.xml', async (ctx) => {
    const view = lookup(ctx, 'content');
    const { base, links } = linksOf(ctx, view);
    const premis = staffFor(readDb, authOf(ctx).viewer, view.id) ? premisElement(await objectProvenance(store, view.id)) : undefined;
    const xml = metsXml({
      objectId: view.id,
      metadata: metadataOf(view),
      links,
      createdAt: view.createdAt,
      updatedAt: view.updatedAt,
      institution: config.institution,
      ...(premis === undefined ? {} : { premis }),
      ...filesAndPages(view, base, (imageId) => findOcrReading(readDb, view.id, imageId)?.outputs.alto),
    });
    // Derivatives and OCR come without a new revision: no Last-Modified, the ETag says it all.
    send(ctx, xml, `mets-${view.id}.xml`);
  });

  return router;
}

function metadataOf(view: ObjectView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of METADATA_FIELDS) if (view[field] !== undefined) out[field] = view[field];
  return out;
}

const masterId = (fileId: string) => metsId('file', fileId);

/**
 * The file groups and pages of a work's METS:
 *  - master (and access, supplement): the files we keep in OCFL, with the SHA-512 we preserve
 *    them by, fetched from the files API;
 *  - derivative: the pyramidal TIFF made for each page, with the SHA-256 recorded when it was
 *    made (fixity checks use it). It is not downloadable as a file; it is served through the
 *    page's IIIF Image API service, which is where its FLocat points (LOCTYPE OTHER);
 *  - ocr: each page's current ALTO, with its SHA-256 (stored by digest).
 */
export function filesAndPages(
  view: ObjectView,
  base: string,
  altoOf: (imageId: string) => { sha256: string; size: number } | undefined,
): { fileGroups: MetsFileGroup[]; pages: Array<{ label?: string; fileIds: string[] }>; contents: Array<{ label: string; pages: number[] }> } {
  const groups = new Map<string, MetsFile[]>([['master', []], ['access', []], ['supplement', []], ['derivative', []], ['ocr', []]]);
  const sorted = [...view.files].sort((a, b) => a.sequence - b.sequence);
  for (const f of sorted) {
    groups.get(f.role)?.push({
      id: masterId(f.fileId),
      mimeType: f.mediaType,
      size: f.size,
      checksum: { type: 'SHA-512', value: f.digests.sha512 },
      href: `${base}/api/objects/${view.id}/files/${f.fileId}/content`,
      groupId: metsId('group', f.fileId),
    });
  }
  const files = new Map(sorted.map((f) => [f.fileId, f]));
  const pageRefs = readingPages(sorted);
  const labels = new Map(view.pages.map((p) => [p.imageId, p.label]));
  const pages = pageRefs.map((p) => {
    const file = files.get(p.fileId);
    const derivative = p.page === 1 ? file?.derivative : file?.laterPages?.find((l) => l.page === p.page)?.derivative;
    const fileIds = [masterId(p.fileId)];
    if (derivative) {
      const id = metsId('derivative', p.fileId, p.page);
      groups.get('derivative')?.push({
        id,
        mimeType: 'image/tiff',
        size: derivative.pyramid.size,
        checksum: { type: 'SHA-256', value: derivative.pyramid.sha256 },
        href: imageServiceUrl(base, p.imageId),
        otherLocType: 'IIIF Image API 3.0 service',
        groupId: metsId('group', p.fileId),
      });
      fileIds.push(id);
    }
    const alto = altoOf(p.imageId);
    if (alto) {
      const id = metsId('alto', p.fileId, p.page);
      groups.get('ocr')?.push({
        id,
        mimeType: OCR_MEDIA_TYPE.alto.replace(/;.*/, ''),
        size: alto.size,
        checksum: { type: 'SHA-256', value: alto.sha256 },
        href: ocrOutputUrl(base, view.id, p.imageId, 'alto'),
      });
      fileIds.push(id);
    }
    const label = labels.get(p.imageId);
    return label ? { label, fileIds } : { fileIds };
  });
  const position = new Map(pageRefs.map((p, i) => [p.imageId, i]));
  const contents = rangeCanvases(view.structure, pageRefs, pageRefs.map((p) => p.imageId)).map((r) => ({
    label: r.label,
    pages: r.imageIds.map((id) => position.get(id)).filter((i): i is number => i !== undefined),
  }));
  return { fileGroups: [...groups].map(([use, list]) => ({ use, files: list })), pages, contents };
}
