import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import {
  decodeResumption,
  encodeResumption,
  type ListArguments,
  METADATA_PREFIXES,
  type MetadataPrefix,
  type OaiRequest,
  oaiIdentifier,
  objectIdOf,
  parseOaiArguments,
  type ResumptionState,
  utcSeconds,
} from '../../application/oai.ts';
import { type RecordLinks, dublinCoreElement, OAI_DC_NS } from '../../formats/dublin-core.ts';
import { MODS_NS, MODS_XSD, modsElement } from '../../formats/mods.ts';
import {
  errorsElement,
  identifyElement,
  type MetadataFormat,
  metadataFormatsElement,
  type OaiError,
  recordElement,
  headerElement,
  RESPONSE_TAIL,
  responseHead,
  resumptionTokenElement,
  setsElement,
} from '../../formats/oai-pmh.ts';
import { manifestUrl } from '../../iiif/manifest.ts';
import {
  countOaiRecords,
  earliestOaiDatestamp,
  findOaiRecord,
  iterateOaiRecords,
  listOaiSets,
  LIBRARY_SET_PREFIX,
  type OaiRecordRow,
} from '../../projections/oai-read-model.ts';
import { readForm } from '../body.ts';
import { libraryMap, nameIn, publicLibraries } from '../../projections/library-map.ts';
import { libraryOfCollection } from '../../search/port.ts';
import { compress } from '../compress.ts';
import { publicBase } from '../public-base.ts';
import type { AppServices } from '../services.ts';
import { signValue, unsignValue } from '../signed-value.ts';

/**
 * The OAI-PMH 2.0 provider: GET and POST (form) /oai, six verbs, oai_dc and MODS, sets =
 * collections and libraries (`library:<id>`), persistent deleted records, signed resumption tokens over the read model's
 * stable order (see projections/oai-read-model.ts). OAI errors are HTTP 200 with <error>, as
 * the spec demands. A list page is streamed record by record from its own read-only
 * connection, so the page is never one string and the projections keep writing meanwhile.
 */
const FORMATS: Record<MetadataPrefix, MetadataFormat & { element: (m: Record<string, unknown>, id: string, links: RecordLinks) => string }> = {
  oai_dc: { prefix: 'oai_dc', schema: 'http://www.openarchives.org/OAI/2.0/oai_dc.xsd', namespace: OAI_DC_NS, element: dublinCoreElement },
  mods: { prefix: 'mods', schema: MODS_XSD, namespace: MODS_NS, element: modsElement },
};
const isPrefix = (p: string): p is MetadataPrefix => (METADATA_PREFIXES as readonly string[]).includes(p);
const TOKEN_PURPOSE = 'oai-pmh resumptionToken';
/** Records written into one chunk of the stream: few enough to keep memory flat, enough to keep writes few. */
const RECORDS_PER_CHUNK = 50;

export function oaiRoutes(services: AppServices): Router {
  const router = new Router();
  const { config, store } = services;
  const secret = services.accounts.cookieSecret;
  const sign = (v: string) => signValue(secret, TOKEN_PURPOSE, v);
  const unsign = (v: string) => unsignValue(secret, TOKEN_PURPOSE, v);
  const runner = services.projections.find((p) => p.projection.name === 'oai');

  const answer = async (ctx: Context, params: Array<[string, string]>) => {
    const responseDate = utcSeconds(Date.now());
    // What was in the log when the request came is in the answer (a harvester's next `from` is this responseDate).
    if (runner) {
      const head = await store.headPosition();
      if (head !== null && runner.lagBehind(head) > 0) await runner.waitForPosition(head, 2000);
    }
    const base = publicBase(config.publicUrl, ctx);
    const baseUrl = `${base}/oai`;
    ctx.status = 200;
    ctx.type = 'text/xml; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    const parsed = parseOaiArguments(params);
    if (!parsed.ok) {
      ctx.body = responseHead(responseDate, baseUrl, null) + errorsElement(parsed.errors) + RESPONSE_TAIL;
      return;
    }
    const head = responseHead(responseDate, baseUrl, parsed.echo);
    const fail = (errors: OaiError[]) => {
      ctx.body = head + errorsElement(errors) + RESPONSE_TAIL;
    };
    const db = services.readModelReader.get();
    // Each record is in its collection's set and, once the instance has more than one library,
    // its library's (with one library, that set would be the whole repository again).
    const libraries = libraryMap(db, config.libraryId);
    const holders = new Map(publicLibraries(db, config).map((l) => [l.id, { name: nameIn('vi', l), ...(l.code ? { code: l.code } : {}) }]));
    const librarySetsOn = holders.size > 1;
    const links = (id: string, library: string): RecordLinks => ({
      page: `${base}/objects/${id}`,
      manifest: manifestUrl(base, id),
      holder: holders.get(library) ?? { name: library },
    });
    const record = (row: OaiRecordRow, prefix: MetadataPrefix | null): string => {
      const library = libraryOfCollection(libraries, row.setSpec);
      const header = {
        identifier: oaiIdentifier(config.oai.repositoryIdentifier, row.objectId),
        datestamp: row.datestamp,
        setSpecs: [...(row.setSpec ? [row.setSpec] : []), ...(librarySetsOn ? [`${LIBRARY_SET_PREFIX}${library}`] : [])],
        deleted: row.deleted,
      };
      if (prefix === null) return `${headerElement(header)}\n`;
      return recordElement(header, row.deleted ? undefined : FORMATS[prefix].element(JSON.parse(row.metadata) as Record<string, unknown>, row.objectId, links(row.objectId, library)));
    };
    const librarySets = () => listOaiSets(db, libraries, librarySetsOn ? new Map([...holders].map(([id, h]) => [id, h.name])) : undefined);
    const request: OaiRequest = parsed.request;

    switch (request.verb) {
      case 'Identify': {
        ctx.body =
          head +
          identifyElement({
            repositoryName: config.institution,
            baseUrl,
            adminEmails: config.oai.adminEmails,
            earliestDatestamp: earliestOaiDatestamp(db) ?? responseDate,
            repositoryIdentifier: config.oai.repositoryIdentifier,
            sampleIdentifier: oaiIdentifier(config.oai.repositoryIdentifier, 'hn-0001'),
          }) +
          RESPONSE_TAIL;
        return;
      }
      case 'ListMetadataFormats': {
        const formats = Object.values(FORMATS);
        if (request.identifier !== undefined) {
          const id = objectIdOf(config.oai.repositoryIdentifier, request.identifier);
          const row = id === undefined ? undefined : findOaiRecord(db, id);
          if (!row) return fail([{ code: 'idDoesNotExist', message: `${request.identifier} is not an item of this repository.` }]);
          // Every item, a deleted one too, is disseminated in every format (each writer takes
          // any record); should one ever not carry some item, it leaves `formats` here.
          if (formats.length === 0) return fail([{ code: 'noMetadataFormats', message: 'No metadata format is available for this item.' }]);
        }
        ctx.body = head + metadataFormatsElement(formats) + RESPONSE_TAIL;
        return;
      }
      case 'ListSets': {
        if (request.resumptionToken !== undefined) {
          // The set list is always whole in one answer: no token for it was ever issued.
          return fail([{ code: 'badResumptionToken', message: 'This repository issues no resumptionToken for ListSets.' }]);
        }
        const sets = librarySets();
        if (sets.length === 0) return fail([{ code: 'noSetHierarchy', message: 'This repository has no sets to show.' }]);
        ctx.body = head + setsElement(sets) + RESPONSE_TAIL;
        return;
      }
      case 'GetRecord': {
        const errors: OaiError[] = [];
        const id = objectIdOf(config.oai.repositoryIdentifier, request.identifier);
        const row = id === undefined ? undefined : findOaiRecord(db, id);
        if (!row) errors.push({ code: 'idDoesNotExist', message: `${request.identifier} is not an item of this repository.` });
        if (!isPrefix(request.metadataPrefix)) errors.push({ code: 'cannotDisseminateFormat', message: `The metadata format ${request.metadataPrefix} is not served; use oai_dc or mods.` });
        if (!row || !isPrefix(request.metadataPrefix)) return fail(errors);
        ctx.body = `${head}<GetRecord>\n${record(row, request.metadataPrefix)}</GetRecord>\n${RESPONSE_TAIL}`;
        return;
      }
      case 'ListIdentifiers':
      case 'ListRecords': {
        const nowSeconds = Math.floor(Date.now() / 1000);
        let state: ResumptionState;
        if ('resumptionToken' in request) {
          const decoded = decodeResumption(request.resumptionToken, request.verb, nowSeconds, unsign);
          if (!decoded.ok) return fail([decoded.error]);
          state = decoded.state;
        } else {
          const list: ListArguments = request;
          const errors: OaiError[] = [];
          if (!isPrefix(list.metadataPrefix)) errors.push({ code: 'cannotDisseminateFormat', message: `The metadata format ${list.metadataPrefix} is not served; use oai_dc or mods.` });
          if (list.set !== undefined && librarySets().length === 0) errors.push({ code: 'noSetHierarchy', message: 'This repository has no sets to show.' });
          if (errors.length > 0) return fail(errors);
          const filter = { ...(list.set !== undefined ? { set: list.set } : {}), ...(list.from ? { from: list.from } : {}), ...(list.until ? { until: list.until } : {}) };
          state = { v: 1, verb: request.verb, prefix: list.metadataPrefix, ...filter, after: 0, cursor: 0, size: countOaiRecords(db, { ...filter, libraries }), expires: 0 };
        }
        const prefix = state.prefix as MetadataPrefix;
        const filter = { ...(state.set !== undefined ? { set: state.set } : {}), ...(state.from ? { from: state.from } : {}), ...(state.until ? { until: state.until } : {}), libraries };
        const pageSize = config.oai.pageSize;
        const rows = iterateOaiRecords(db, filter, state.after, pageSize + 1);
        const first = rows.next();
        if (first.done) {
          if (state.cursor === 0) return fail([{ code: 'noRecordsMatch', message: 'No record matches these arguments.' }]);
          // A resumed list whose last record went away (another set now): the list ends here.
          ctx.body = `${head}<${request.verb}>\n${resumptionTokenElement({ token: '', completeListSize: state.cursor, cursor: state.cursor })}</${request.verb}>\n${RESPONSE_TAIL}`;
          return;
        }
        const verb = request.verb;
        const headersOnly = verb === 'ListIdentifiers';
        const ttl = config.oai.tokenTtlSeconds;
        const resumed = state.cursor > 0;
        async function* page(): AsyncGenerator<string> {
          let chunk = `${head}<${verb}>\n`;
          let n = 0;
          let last = 0;
          let more = false;
          try {
            for (let r: IteratorResult<OaiRecordRow> = first; !r.done; r = rows.next()) {
              if (n === pageSize) {
                more = true;
                break;
              }
              chunk += record(r.value, headersOnly ? null : prefix);
              last = r.value.seq;
              n++;
              if (n % RECORDS_PER_CHUNK === 0) {
                yield chunk;
                chunk = '';
              }
            }
          } finally {
            rows.return(undefined);
          }
          const delivered = state.cursor + n;
          // The list may have grown while it was harvested: never say it is smaller than what was handed out.
          const size = Math.max(state.size, delivered + (more ? 1 : 0));
          if (more) {
            const expires = nowSeconds + ttl;
            const token = encodeResumption({ ...state, after: last, cursor: delivered, size, expires }, sign);
            chunk += resumptionTokenElement({ token, completeListSize: size, cursor: state.cursor, expirationDate: utcSeconds(expires * 1000) });
          } else if (resumed) {
            chunk += resumptionTokenElement({ token: '', completeListSize: size, cursor: state.cursor });
          }
          yield `${chunk}</${verb}>\n${RESPONSE_TAIL}`;
        }
        ctx.body = Readable.from(page());
        return;
      }
    }
  };

  /** The query's arguments in order, repeats kept (koa's ctx.query folds repeats into arrays). */
  // A harvest is megabytes of XML that codes to a tenth of its size; pages stay streamed.
  const coded = compress();
  router.get('/oai', coded, async (ctx) => {
    await answer(ctx, [...new URLSearchParams(ctx.querystring).entries()]);
  });
  router.post('/oai', coded, async (ctx) => {
    await answer(ctx, [...(await readForm(ctx)).entries()]);
  });
  return router;
}

