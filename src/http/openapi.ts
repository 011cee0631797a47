import { z } from 'zod';
import { FACETS, MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_CHARS, SORTS } from '../search/port.ts';
import { MAX_REPORT_DAYS, STATS_TABLES } from '../projections/stats-read-model.ts';
import { CreateCollectionBody, EditCollectionBody } from './routes/collections.ts';
import { CreateLibraryBody, EditLibraryBody } from './routes/libraries.ts';
import { AccessBody, CreateObjectBody, EditObjectBody, ListQuery, PageLabelsBody, ReorderBody, StructureBody, WithdrawBody } from './routes/objects.ts';
import { UploadCheckBody } from './routes/files.ts';
import { ProvenanceQuery } from './routes/provenance.ts';
import { CreateUserBody, IssueTokenBody, LibraryBody, RoleBody } from './routes/users.ts';

/**
 * The OpenAPI 3.1 description of /api, with request bodies generated from the same zod
 * schemas the routes validate with, so that the document cannot drift from the code.
 */
const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const problem = {
  description: 'Problem details (RFC 9457) with `detail` in Vietnamese or English and `messages` in both',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

const json = (s: unknown) => ({ content: { 'application/json': { schema: s } } });
const bearer = [{ bearer: [] }];
/** Staff routes: a token, or a signed-in session (writes then send X-CSRF-Token). */
const staffAuth = [{ bearer: [] }, { session: [] }];
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const ifMatch = (required: boolean) => ({
  name: 'If-Match',
  in: 'header',
  required,
  schema: { type: 'string' },
  description: `The revision (ETag) you read, e.g. "3"${required ? ': required (428 without it)' : ''}; a stale one is 412 with \`current\` (the record as it is now) and who changed it`,
});
/** Query parameters of a zod object schema, as OpenAPI parameters. */
function queryParameters(s: z.ZodObject): Record<string, unknown>[] {
  const doc = schema(s) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(doc.properties ?? {}).map(([name, p]) => ({
    name,
    in: 'query',
    ...(doc.required?.includes(name) ? { required: true } : {}),
    schema: p,
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
  }));
}
const iiifJson = (description: string) => ({ description, content: { 'application/ld+json': { schema: { type: 'object' } }, 'application/json': { schema: { type: 'object' } } } });

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'thukho API',
      version: '1',
      description:
        'Kho lưu trữ số Thư khố — JSON API cho cán bộ thư viện và hệ thống tích hợp. / The thukho JSON API for library staff and integrations.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A token from `thukho users add` or `thukho users token`' },
        session: { type: 'apiKey', in: 'cookie', name: 'thukho_session', description: 'Signed in on /sign-in; writes also need the X-CSRF-Token header (from GET /api/session)' },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            messages: { type: 'object', properties: { vi: { type: 'string' }, en: { type: 'string' } } },
            errors: {
              type: 'array',
              description: 'Invalid input: one entry per field refused (`field` is its path, e.g. `language.0`)',
              items: {
                type: 'object',
                properties: {
                  field: { type: 'string' },
                  message: { type: 'string', description: 'Both languages in one string, "vi / en"' },
                  messages: { type: 'object', properties: { vi: { type: 'string' }, en: { type: 'string' } } },
                },
              },
            },
          },
        },
        CreateObject: schema(CreateObjectBody),
        EditObject: schema(EditObjectBody),
        Withdraw: schema(WithdrawBody),
        Reorder: schema(ReorderBody),
        ChangeAccess: schema(AccessBody),
        PageLabels: schema(PageLabelsBody),
        Structure: schema(StructureBody),
        UploadCheck: schema(UploadCheckBody),
        History: {
          type: 'object',
          required: ['objectId', 'events'],
          properties: {
            objectId: { type: 'string' },
            events: {
              type: 'array',
              items: {
                type: 'object',
                required: ['revision', 'position', 'type', 'at', 'actor', 'changes'],
                properties: {
                  revision: { type: 'integer' },
                  position: { type: 'string' },
                  type: { enum: ['ObjectRegistered', 'MetadataEdited', 'AccessPolicyChanged', 'ObjectWithdrawn', 'FilesReordered', 'PageLabelsSet', 'StructureSet'] },
                  at: { type: 'string', format: 'date-time' },
                  actor: { type: 'object', properties: { id: { type: 'string' }, role: { type: 'string' } } },
                  reason: { type: 'string' },
                  changes: { type: 'array', items: { type: 'object', required: ['field', 'before', 'after'], properties: { field: { type: 'string' }, before: {}, after: {} } } },
                },
              },
            },
          },
        },
        UploadCheckResult: {
          type: 'object',
          properties: {
            files: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'accepted', 'duplicate'],
                properties: {
                  name: { type: 'string' },
                  accepted: { type: 'boolean' },
                  reason: { type: 'string', description: 'Why not, in the language asked for (Accept-Language)' },
                  code: { enum: ['unsupported-format', 'file-too-large', 'empty-file'] },
                  messages: { type: 'object', properties: { vi: { type: 'string' }, en: { type: 'string' } } },
                  duplicate: { type: 'boolean', description: 'The same bytes (SHA-256) are already stored in this object: no need to send them' },
                  fileId: { type: 'string' },
                },
              },
            },
          },
        },
        CreateCollection: schema(CreateCollectionBody),
        CreateLibrary: schema(CreateLibraryBody),
        EditLibrary: schema(EditLibraryBody),
        EditCollection: schema(EditCollectionBody),
        CreateUser: schema(CreateUserBody),
        UserRole: schema(RoleBody),
        UserLibrary: schema(LibraryBody),
        IssueToken: schema(IssueTokenBody),
        Object: {
          type: 'object',
          description: 'Metadata fields as in CreateObject, plus:',
          required: ['id', 'revision', 'title', 'status', 'accessLevel', 'files'],
          properties: {
            id: { type: 'string' },
            revision: { type: 'integer', description: 'Stream revision; send it back in If-Match' },
            status: { enum: ['active', 'withdrawn'] },
            accessLevel: { enum: ['open', 'restricted', 'confidential'] },
            files: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  status: {
                    type: 'object',
                    description: 'Staff only: where the file stands on its way in',
                    properties: {
                      stored: { const: true },
                      derivative: { enum: ['done', 'pending', 'failed', 'none'] },
                      ocr: { enum: ['done', 'pending', 'failed', 'none'] },
                      replicated: { type: 'integer', description: 'Replica roots holding a verified copy' },
                      replicas: { type: 'integer', description: 'Replica roots configured' },
                    },
                  },
                },
              },
            },
            pages: {
              type: 'array',
              description: 'Every page in reading order; `label` is empty when the page shows its number',
              items: { type: 'object', required: ['fileId', 'imageId', 'label'], properties: { fileId: { type: 'string' }, page: { type: 'integer', minimum: 2 }, imageId: { type: 'string' }, label: { type: 'string' } } },
            },
            pageCount: { type: 'integer' },
            hasOcr: { type: 'boolean' },
            fixity: { enum: ['passed', 'failed', 'repaired', 'damaged', 'overdue', 'unchecked'], description: 'Staff only: the worst state of the work\'s stored copies' },
            structure: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' }, fileId: { type: 'string' }, page: { type: 'integer', minimum: 2 } } } },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    paths: {
      '/health': {
        get: {
          summary: 'Status of event store, redis, projections, chain audit, preservation, jobs and queues',
          description:
            'Anyone may ask: `status` (ok, degraded, down) and, per part, states and counts only (`queues`: waiting, active, delayed and failed jobs of each queue). With a staff token the same answer also names what is wrong: damaged files (work, file, collection), broken streams, replica labels and paths, seal details, error messages, the last OCR pages that failed (`queues.ocr.recentFailures`: work, page, reason, attempts).',
          security: [{}, ...bearer],
          responses: { 200: { description: 'ok or degraded' }, 503: { description: 'a dependency is down' } },
        },
      },
      '/api/session': {
        get: {
          summary: 'Who this browser is signed in as, and the CSRF token its scripts send back (X-CSRF-Token) with a write',
          security: [{}, { session: [] }],
          responses: { 200: { description: '{ signedIn, role, user?, csrfToken? }' } },
        },
      },
      '/api/stats': {
        get: {
          summary: 'Usage statistics for a period (staff): views and downloads per work, collection and day; top searches; searches without results',
          description:
            'Folded from the access events (`access-<yyyy-mm-dd>` streams, UTC days). `views` counts every opening of a work (its manifest fetched, or the page of a work without images); `sessions` counts each session once per work and day; staff use is included and also given on its own. Searches are library-wide, counted by their folded text (diacritics and đ folded), first pages only. No person is in the log: only a role and a session hash that changes every day. Events recorded before the request are included.',
          security: bearer,
          parameters: [
            { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' }, description: 'First day (UTC), YYYY-MM-DD' },
            { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' }, description: `Last day (UTC, included); at most ${MAX_REPORT_DAYS} days after from` },
            { name: 'collection', in: 'query', schema: { type: 'string' }, description: 'Only works that were in this collection when used' },
            { name: 'library', in: 'query', schema: { type: 'string' }, description: "Only works of this library's collections (as they are held now); searches stay instance-wide. A library’s staff (an account with a library) always get their library’s figures; naming another library is 403" },
            { name: 'format', in: 'query', schema: { enum: ['json', 'csv'], default: 'json' } },
            { name: 'table', in: 'query', schema: { enum: [...STATS_TABLES], default: 'works' }, description: 'Which table a CSV holds (JSON has them all)' },
          ],
          responses: {
            200: {
              description:
                'JSON: `from`, `to`, `collectionId`, `libraryId`, `totals`, `days`, `works` (with titles), `collections` (each with its `libraryId`), `libraries` (one row per holding library), `topSearches`, `searchesWithoutResults`; or CSV (UTF-8, header row) of one table',
            },
            400: problem,
            401: problem,
            403: problem,
            503: problem,
          },
        },
      },
      '/api/search': {
        get: {
          summary: 'Search catalogue records and page text; hits grouped by work with their best pages',
          description:
            'Diacritics and đ are folded (`bac giang` finds `Bắc Giang`), Han and Nôm are searched per character. What the caller may not see is in no hit, facet count or total: confidential works are for staff only; page text of restricted works for signed-in readers. Unknown parameters and filters are refused (400), never ignored.',
          security: [{}, ...bearer],
          parameters: [
            { name: 'q', in: 'query', schema: { type: 'string', maxLength: MAX_QUERY_CHARS }, description: 'Words to find; empty browses' },
            { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1 } },
            { name: 'per_page', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PER_PAGE, default: 20 } },
            { name: 'sort', in: 'query', schema: { enum: [...SORTS], default: 'relevance' } },
            { name: 'page_hits', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 10, default: 3 }, description: 'Best page hits shown under each work' },
            ...FACETS.map((f) => ({
              name: `filter[${f}]`,
              in: 'query',
              schema: { type: 'string' },
              description: f === 'hasText' ? 'true or false' : 'May be repeated: any of the values',
            })),
          ],
          responses: {
            200: {
              description:
                '`total`, `page`, `perPage`, `pageCount`, `hits` (each: `work`, highlighted `title` and `snippet` as runs `{text, mark}`, `pageMatches`, `pageHits` with `canvasId`, `label`, `snippet`, `xywh` and `readerUrl`), `facets` (value, count, selected)',
            },
            400: problem,
          },
        },
      },
      '/api/objects': {
        get: {
          summary: 'List objects visible to the caller, newest first, with filters; each item has pageCount, hasOcr and (staff) fixity',
          security: [{}, ...staffAuth],
          parameters: queryParameters(ListQuery),
          responses: { 200: { description: '`items`, `total`, `next` (the next page, filters kept)' }, 400: problem, 401: problem, 403: problem },
        },
        post: {
          summary: 'Register an object (staff)',
          security: staffAuth,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              schema: { type: 'string', minLength: 1, maxLength: 200 },
              description: 'The same key from the same account again answers 200 with the object the first request made (same Location, `Idempotent-Replay: true`) instead of registering a second one',
            },
          ],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/CreateObject' }) },
          responses: {
            201: { description: 'Created', ...json({ $ref: '#/components/schemas/Object' }) },
            200: { description: 'A repeat of an Idempotency-Key: the object the first request made', ...json({ $ref: '#/components/schemas/Object' }) },
            400: problem, 401: problem, 403: problem, 409: problem, 413: problem, 415: problem, 422: problem,
          },
        },
      },
      '/api/objects/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'One object', responses: { 200: json({ $ref: '#/components/schemas/Object' }), 404: problem, 410: problem } },
        patch: {
          summary: 'Edit metadata or access level (staff); `null` clears a field',
          security: bearer,
          parameters: [ifMatch(true)],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/EditObject' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Object' }), 400: problem, 404: problem, 409: problem, 412: problem, 413: problem, 422: problem, 428: problem },
        },
      },
      '/api/objects/{id}/access': {
        parameters: [idParam],
        put: {
          summary: 'Change the access level (staff), with the reason for it (required)',
          security: staffAuth,
          parameters: [ifMatch(false)],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/ChangeAccess' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Object' }), 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 412: problem },
        },
      },
      '/api/objects/{id}/page-labels': {
        parameters: [idParam],
        put: {
          summary: 'Set page labels (staff): listed pages one by one (an empty label clears), or every page from a pattern',
          description: 'Pattern placeholders: `{n}` the page number from `start` (default 1), `{f}` the folio with its side from `start`: `tờ {f}` → tờ 1a, tờ 1b, tờ 2a… The manifest\'s canvases are labelled with them.',
          security: staffAuth,
          parameters: [ifMatch(false)],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/PageLabels' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Object' }), 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 412: problem, 422: problem },
        },
      },
      '/api/objects/{id}/structure': {
        parameters: [idParam],
        put: {
          summary: 'Set the table of contents (staff): each entry from its page to the next entry\'s (the manifest\'s `structures`)',
          security: staffAuth,
          parameters: [ifMatch(false)],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/Structure' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Object' }), 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 412: problem, 422: problem },
        },
      },
      '/api/objects/{id}/history': {
        parameters: [idParam],
        get: {
          summary: 'What people decided about the object (staff): each event with who, when, why and the fields it changed (before, after)',
          security: staffAuth,
          responses: { 200: json({ $ref: '#/components/schemas/History' }), 401: problem, 403: problem, 404: problem },
        },
      },
      '/api/objects/{id}/provenance': {
        parameters: [idParam],
        get: {
          summary: 'The object\'s provenance (staff): every event of both streams as PREMIS 3, agents, and each stream\'s hash-chain status',
          security: staffAuth,
          parameters: queryParameters(ProvenanceQuery),
          responses: {
            200: { description: 'JSON, or PREMIS XML with ?format=xml or Accept: application/xml', content: { 'application/json': { schema: { type: 'object' } }, 'application/xml': { schema: { type: 'string' } } } },
            401: problem, 403: problem, 404: problem,
          },
        },
      },
      '/api/objects/{id}/dc.xml': {
        parameters: [idParam],
        get: {
          summary: 'The object\'s record as simple Dublin Core (oai_dc), as OAI-PMH serves it; public for open and restricted works',
          security: [{}, ...staffAuth],
          responses: {
            200: { description: 'An `oai_dc:dc` document; ETag (304 on If-None-Match) and Last-Modified', content: { 'application/xml': { schema: { type: 'string' } } } },
            304: { description: 'Not modified' }, 400: problem, 404: problem, 410: problem,
          },
        },
      },
      '/api/objects/{id}/mods.xml': {
        parameters: [idParam],
        get: {
          summary: 'The object\'s record as MODS 3.8 (the LoC Dublin Core to MODS crosswalk); public for open and restricted works',
          security: [{}, ...staffAuth],
          responses: {
            200: { description: 'A `mods:mods` document; ETag (304 on If-None-Match) and Last-Modified', content: { 'application/xml': { schema: { type: 'string' } } } },
            304: { description: 'Not modified' }, 400: problem, 404: problem, 410: problem,
          },
        },
      },
      '/api/objects/{id}/mets.xml': {
        parameters: [idParam],
        get: {
          summary: 'The work as METS 1.12: MODS, files with size and checksum (SHA-512 masters, SHA-256 derivatives and ALTO) and where to fetch them, pages in reading order, the table of contents; PREMIS provenance for staff only. The work\'s content: signed-in readers for a restricted work',
          security: [{}, ...staffAuth],
          responses: {
            200: { description: 'A `mets:mets` document; ETag (304 on If-None-Match)', content: { 'application/xml': { schema: { type: 'string' } } } },
            304: { description: 'Not modified' }, 400: problem, 401: problem, 404: problem, 410: problem,
          },
        },
      },
      '/api/objects/{id}/files/check': {
        parameters: [idParam],
        post: {
          summary: 'Before an upload (staff): which files would be taken — format by extension, size against the limit, already stored by SHA-256',
          security: staffAuth,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/UploadCheck' }) },
          responses: { 200: json({ $ref: '#/components/schemas/UploadCheckResult' }), 400: problem, 401: problem, 403: problem, 404: problem },
        },
      },
      '/api/audit/report': {
        get: {
          summary: 'Fixity audit report for a period (staff): checks, failures, repairs and damage, with the seal covering it',
          security: staffAuth,
          parameters: [
            { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
            { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
            { name: 'library', in: 'query', schema: { type: 'string' }, description: 'Only the works this library holds. A library’s staff (an account with a library) always get their library’s figures; naming another library is 403' },
            { name: 'format', in: 'query', schema: { enum: ['json', 'csv'], default: 'json' } },
          ],
          responses: { 200: { description: 'JSON report, or CSV' }, 400: problem, 401: problem, 403: problem },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text exposition format): requests, projection lag, queues, render budget',
          security: [{}],
          responses: { 200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/iiif/manifest/{objectId}': {
        parameters: [{ name: 'objectId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'IIIF Presentation 3 manifest of a work: canvases in reading order with their page labels, `structures` (table of contents), text and search services',
          security: [{}, ...staffAuth],
          responses: { 200: iiifJson('The manifest'), 304: { description: 'Not modified (ETag)' }, 401: problem, 404: problem, 410: problem },
        },
      },
      '/iiif/collection/{collectionId}': {
        parameters: [{ name: 'collectionId', in: 'path', required: true, schema: { type: 'string' }, description: '`top` for the whole repository' }],
        get: { summary: 'IIIF Presentation 3 collection: child collections, then the works the caller may see (one Collection per page when large)', security: [{}, ...staffAuth], responses: { 200: iiifJson('The collection'), 404: problem } },
      },
      '/iiif/collection/{collectionId}/page/{n}': {
        parameters: [
          { name: 'collectionId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        get: { summary: 'One page of a large IIIF collection', security: [{}, ...staffAuth], responses: { 200: iiifJson('The page'), 404: problem } },
      },
      '/iiif/3/{imageId}': {
        parameters: [{ name: 'imageId', in: 'path', required: true, schema: { type: 'string' }, description: 'A file id (page 1) or `<fileId>~p<n>`' }],
        get: { summary: 'IIIF Image API 3 base URI: redirects to info.json', responses: { 303: { description: 'See info.json' }, 404: problem } },
      },
      '/iiif/3/{imageId}/info.json': {
        parameters: [{ name: 'imageId', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'IIIF Image API 3 image information (level 2), with the authorization services of a restricted work', security: [{}, ...staffAuth], responses: { 200: iiifJson('Image information'), 401: problem, 404: problem, 410: problem } },
      },
      '/iiif/3/{imageId}/{region}/{size}/{rotation}/{qualityFormat}': {
        parameters: [
          { name: 'imageId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'region', in: 'path', required: true, schema: { type: 'string' }, description: 'full, square, x,y,w,h or pct:x,y,w,h' },
          { name: 'size', in: 'path', required: true, schema: { type: 'string' }, description: 'max, ^max, w,, ,h, pct:n, w,h, !w,h' },
          { name: 'rotation', in: 'path', required: true, schema: { type: 'string' }, description: '0, 90, 180, 270, optionally mirrored (!)' },
          { name: 'qualityFormat', in: 'path', required: true, schema: { type: 'string' }, description: 'default.jpg, color.png, gray.webp, …' },
        ],
        get: { summary: 'IIIF Image API 3 image request (tiles from the pyramid; other requests rendered within a budget)', security: [{}, ...staffAuth], responses: { 200: { description: 'The image' }, 400: problem, 401: problem, 404: problem, 429: problem, 501: problem } },
      },
      '/iiif/text/{objectId}/{imageId}': {
        parameters: [
          { name: 'objectId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'imageId', in: 'path', required: true, schema: { type: 'string' } },
        ],
        get: { summary: 'A page\'s text as a supplementing AnnotationPage (lines and words on the canvas)', security: [{}, ...staffAuth], responses: { 200: iiifJson('AnnotationPage'), 401: problem, 404: problem } },
      },
      '/iiif/search/{objectId}': {
        parameters: [{ name: 'objectId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'IIIF Content Search 2 inside one work',
          security: [{}, ...staffAuth],
          parameters: [{ name: 'q', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { 200: iiifJson('AnnotationPage of hits'), 400: problem, 401: problem, 404: problem },
        },
      },
      '/iiif/ocr/{objectId}/{imageId}/{file}': {
        parameters: [
          { name: 'objectId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'imageId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'file', in: 'path', required: true, schema: { enum: ['alto.xml', 'hocr.html', 'text.txt'] } },
        ],
        get: { summary: 'A page\'s current OCR reading: ALTO 4, hOCR or plain text', security: [{}, ...staffAuth], responses: { 200: { description: 'The file' }, 401: problem, 404: problem } },
      },
      '/api/objects/{id}/withdraw': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: 'Withdraw an object (staff) with the reason; it takes no more changes', security: staffAuth, parameters: [ifMatch(false)], requestBody: { required: true, ...json({ $ref: '#/components/schemas/Withdraw' }) }, responses: { 200: { description: 'Withdrawn' }, 404: problem, 409: problem, 412: problem } },
      },
      '/api/objects/{id}/files/order': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        put: { summary: 'Set the page order (staff): every file id of the object once', security: staffAuth, parameters: [ifMatch(false)], requestBody: { required: true, ...json({ $ref: '#/components/schemas/Reorder' }) }, responses: { 200: json({ $ref: '#/components/schemas/Object' }), 404: problem, 409: problem, 412: problem, 422: problem } },
      },
      '/api/objects/{id}/events': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'One of the object’s two hash-chained event streams (staff): what people decided, or what machines found out',
          security: bearer,
          parameters: [{ name: 'stream', in: 'query', schema: { enum: ['object', 'preservation'], default: 'object' } }],
          responses: { 200: { description: 'Events' }, 404: problem },
        },
      },
      '/api/objects/{id}/files': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'Upload a file (staff), streamed: multipart/form-data with a `file` field (fields before it), or a raw body with ?name=',
          description: 'Refused from the headers, before the body is read: a Content-Length over the per-file limit (413) and, for a raw body, a name whose extension is of no accepted format (415). Idempotent by digest: re-sending a file after a dropped connection stores it once.',
          security: bearer,
          parameters: [
            { name: 'name', in: 'query', schema: { type: 'string' }, description: 'File name (required for a raw body)' },
            { name: 'role', in: 'query', schema: { enum: ['master', 'access', 'supplement'], default: 'master' } },
            { name: 'sequence', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'Page position (1-based)' },
            { name: 'Content-Digest', in: 'header', schema: { type: 'string' }, description: 'RFC 9530, e.g. sha-256=:BASE64: (raw bodies); a mismatch is 400 and nothing is kept' },
          ],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': { schema: { type: 'object', properties: { role: { type: 'string' }, sequence: { type: 'integer' }, file: { type: 'string', format: 'binary' } }, required: ['file'] } },
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              'image/tiff': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: {
            201: { description: 'Stored: the file with its digests, format facts and OCFL location' },
            200: { description: 'The same bytes are already in this object (`duplicate: true`)' },
            400: problem, 401: problem, 404: problem, 409: problem, 413: problem, 415: problem, 422: problem,
            507: problem,
          },
        },
      },
      '/api/objects/{id}/files/{fileId}': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'fileId', in: 'path', required: true, schema: { type: 'string' } },
        ],
        get: { summary: 'A file’s facts: name, role, size, media type, digests, image facts, OCFL location (part of the public record)', responses: { 200: { description: 'File' }, 404: problem, 410: problem } },
      },
      '/api/objects/{id}/files/{fileId}/content': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'fileId', in: 'path', required: true, schema: { type: 'string' } },
        ],
        get: { summary: 'The original bytes, with Repr-Digest (RFC 9530); a restricted work’s for signed-in readers and the reading room (401 otherwise)', responses: { 200: { description: 'The file' }, 401: problem, 404: problem, 410: problem } },
      },
      // Staff workspace: preservation, jobs, users (h-staffadmin).
      '/api/preservation/summary': {
        get: {
          summary: 'Fixity state of the whole repository (staff): copies passed, failed, repaired, damaged, overdue, never checked; the copies that need a person, failures first; replication lag per replica root',
          security: bearer,
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 }, description: 'Problem copies listed at most' },
            { name: 'library', in: 'query', schema: { type: 'string' }, description: 'Only the works this library holds. A library’s staff (an account with a library) always get their library’s figures; naming another library is 403' },
          ],
          responses: {
            200: { description: '`counts` {passed, failed, repaired, damaged, overdue, unchecked}, `copies`, `objects`, `problems` [{objectId, title, fileId, path, root, target, state, failure, at}], `moreProblems`, `replication` [{label, path, behind, differs, readable, measuredAt}], `seal`' },
            400: problem,
            401: problem,
            403: problem,
          },
        },
      },
      '/api/objects/{id}/fixity-check': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'Check every stored copy of the object now (staff, auditors included): queued on the fixity queue, results in the provenance timeline',
          security: bearer,
          responses: { 202: { description: '`{ objectId, jobId, alreadyQueued }`: one check per object waits at a time' }, 400: problem, 401: problem, 403: problem, 404: problem, 503: problem },
        },
      },
      '/api/jobs': {
        get: {
          summary: 'Background queues (staff): depth of each, jobs running now, the last failed jobs with their reasons (retry them on /staff/queues, admins)',
          security: bearer,
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 20 }, description: 'Running and failed jobs listed per queue at most' }],
          responses: { 200: { description: '`queues` [{key, name, waiting, active, delayed, failed}], `running`, `failed` [{queue, jobId, name, data, reason, attempts, failedAt}]' }, 400: problem, 401: problem, 403: problem, 503: problem },
        },
      },
      '/api/users': {
        get: { summary: 'Every account with its role, status and token names (admins)', security: bearer, responses: { 200: { description: '`{ users: [{ id, name, role, status, library, hasPassword, tokens: [{ name, role }] }] }` (`library`: the library whose staff the account is, null for the whole instance)' }, 401: problem, 403: problem } },
        post: {
          summary: 'Add an account (admins): with a password it signs in on the site; without one it is a script’s, and its "default" API token is in the answer, once',
          security: bearer,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/CreateUser' }) },
          responses: { 201: { description: 'The account (and `token` when made without a password)' }, 400: problem, 401: problem, 403: problem, 409: problem, 422: problem },
        },
      },
      '/api/users/{id}/role': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        put: {
          summary: 'Change an account’s role (admins); its sessions end. Nobody demotes themselves or the last active admin (409)',
          security: bearer,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/UserRole' }) },
          responses: { 200: { description: 'The account' }, 400: problem, 401: problem, 403: problem, 404: problem, 409: problem },
        },
      },
      '/api/users/{id}/library': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        put: {
          summary: 'Make an account a library’s staff (its staff rights then hold only for that library’s works, collections and figures), or with null the whole instance’s (admins). The last instance-wide admin stays instance-wide (409)',
          security: bearer,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/UserLibrary' }) },
          responses: { 200: { description: 'The account' }, 400: problem, 401: problem, 403: problem, 404: problem, 409: problem },
        },
      },
      '/api/users/{id}/disable': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: 'Disable an account (admins): its sessions and tokens stop at once. Nobody disables themselves or the last active admin (409)', security: bearer, responses: { 200: { description: 'The account' }, 401: problem, 403: problem, 404: problem, 409: problem } },
      },
      '/api/users/{id}/enable': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: 'Enable a disabled account again (admins)', security: bearer, responses: { 200: { description: 'The account' }, 401: problem, 403: problem, 404: problem } },
      },
      '/api/users/{id}/tokens': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'The account’s API tokens, by name and scope (never the tokens themselves) (admins)', security: bearer, responses: { 200: { description: '`{ userId, tokens: [{ name, role }] }`' }, 401: problem, 403: problem, 404: problem } },
        post: {
          summary: 'Issue a named API token, optionally scoped to a role no higher than the account’s (admins); the token is in the answer, once',
          security: bearer,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/IssueToken' }) },
          responses: { 201: { description: '`{ userId, name, role, token }`' }, 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 422: problem },
        },
      },
      '/api/users/{id}/tokens/{name}': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
        ],
        delete: { summary: 'Revoke an API token (admins): refused (401) from the next request on', security: bearer, responses: { 204: { description: 'Revoked' }, 400: problem, 401: problem, 403: problem, 404: problem } },
      },
      '/api/collections': {
        get: { summary: 'All collections', responses: { 200: { description: 'Collections' } } },
        post: { summary: 'Create a collection (staff)', security: bearer, requestBody: { required: true, ...json({ $ref: '#/components/schemas/CreateCollection' }) }, responses: { 201: { description: 'Created' }, 400: problem, 409: problem } },
      },
      '/api/libraries': {
        get: { summary: 'The libraries sharing this instance, the home library (THUKHO_LIBRARY_ID) first', responses: { 200: { description: 'Libraries' } } },
        post: {
          summary: 'Register a library (admins): a name in Vietnamese (and English), an ISIL-style code, address, contact, logo',
          security: staffAuth,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/CreateLibrary' }) },
          responses: { 201: { description: 'Registered' }, 400: problem, 401: problem, 403: problem, 409: problem },
        },
      },
      '/api/libraries/{id}': {
        parameters: [idParam],
        get: { summary: 'One library', responses: { 200: { description: 'Library' }, 404: problem } },
        patch: {
          summary: 'Edit a library (admins): fields left out stay, null clears one',
          security: staffAuth,
          parameters: [ifMatch(true)],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/EditLibrary' }) },
          responses: { 200: { description: 'Library' }, 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 428: problem },
        },
      },
      '/api/collections/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'One collection', responses: { 200: { description: 'Collection' }, 404: problem } },
        patch: {
          summary: 'Edit a collection (staff)',
          security: bearer,
          parameters: [{ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' }, description: 'The revision (ETag) you edited; 428 without it, 409 if it is stale' }],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/EditCollection' }) },
          responses: { 200: { description: 'Collection' }, 404: problem, 409: problem, 428: problem },
        },
      },
    },
  };
}
