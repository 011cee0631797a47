import Router from '@koa/router';
import { z } from 'zod';
import { objectProvenance } from '../../application/provenance.ts';
import { premisXml } from '../../formats/premis.ts';
import { authOf, requireStaff } from '../auth.ts';
import { requireWorkRight } from '../access.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';

export const ProvenanceQuery = z.object({ format: z.enum(['json', 'xml']).optional() });

/**
 * The preservation history of an object, for staff: JSON by default, PREMIS 3 XML when the
 * client prefers XML (Accept) or asks for it (?format=xml). Read from the log itself, with
 * the stream's hash-chain status, so it answers "what happened to this, and can we prove it".
 */
export function provenanceRoutes(services: AppServices): Router {
  const router = new Router();
  const { store } = services;

  router.get('/api/objects/:id/provenance', async (ctx) => {
    // Staff first: whether an object exists is itself not for everyone to learn.
    requireStaff(ctx);
    const objectId = ctx.params.id as string;
    requireWorkRight(services.readDb, authOf(ctx).viewer, objectId, 'staff', () => new Problem(404, 'not-found', { vi: `Không có tài liệu "${objectId}".`, en: `There is no object "${objectId}".` }));
    const { format } = ProvenanceQuery.parse(ctx.query);
    const provenance = await objectProvenance(store, ctx.params.id as string);
    ctx.vary('Accept');
    ctx.set('Cache-Control', 'private, no-store');
    const accepted = format === undefined ? ctx.accepts('application/json', 'application/xml', 'text/xml') : false;
    const xmlType = format === 'xml' ? 'application/xml' : accepted === 'application/xml' || accepted === 'text/xml' ? accepted : undefined;
    if (xmlType) {
      ctx.type = `${xmlType}; charset=utf-8`;
      ctx.set('Content-Disposition', `inline; filename="premis-${provenance.objectId}.xml"`);
      ctx.body = premisXml(provenance);
      return;
    }
    ctx.body = provenance;
  });

  return router;
}
