import { z } from 'zod';
import { FACETS, MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_CHARS, SORTS } from '../search/port.ts';
import { MAX_REPORT_DAYS, STATS_TABLES } from '../projections/stats-read-model.ts';
import { CreateCollectionBody, EditCollectionBody } from './routes/collections.ts';
import { CreateObjectBody, EditObjectBody, ReorderBody, WithdrawBody } from './routes/objects.ts';
import { CreateUserBody, IssueTokenBody, RoleBody } from './routes/users.ts';

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
          },
        },
        CreateObject: schema(CreateObjectBody),
        EditObject: schema(EditObjectBody),
        Withdraw: schema(WithdrawBody),
        Reorder: schema(ReorderBody),
        CreateCollection: schema(CreateCollectionBody),
        EditCollection: schema(EditCollectionBody),
        CreateUser: schema(CreateUserBody),
        UserRole: schema(RoleBody),
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
            files: { type: 'array', items: { type: 'object' } },
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
            { name: 'format', in: 'query', schema: { enum: ['json', 'csv'], default: 'json' } },
            { name: 'table', in: 'query', schema: { enum: [...STATS_TABLES], default: 'works' }, description: 'Which table a CSV holds (JSON has them all)' },
          ],
          responses: {
            200: {
              description:
                'JSON: `from`, `to`, `collectionId`, `totals`, `days`, `works` (with titles), `collections`, `topSearches`, `searchesWithoutResults`; or CSV (UTF-8, header row) of one table',
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
          summary: 'List objects visible to the caller, newest first',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'integer' }, description: 'From the previous page’s `next`' },
            { name: 'collectionId', in: 'query', schema: { type: 'string' } },
            { name: 'includeWithdrawn', in: 'query', schema: { enum: ['true', 'false'] }, description: 'Staff only' },
          ],
          responses: { 200: { description: 'A page of objects' }, 400: problem },
        },
        post: {
          summary: 'Register an object (staff)',
          security: bearer,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/CreateObject' }) },
          responses: { 201: { description: 'Created', ...json({ $ref: '#/components/schemas/Object' }) }, 400: problem, 401: problem, 403: problem, 409: problem, 413: problem, 415: problem, 422: problem },
        },
      },
      '/api/objects/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'One object', responses: { 200: json({ $ref: '#/components/schemas/Object' }), 404: problem, 410: problem } },
        patch: {
          summary: 'Edit metadata or access level (staff); `null` clears a field',
          security: bearer,
          parameters: [{ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' }, description: 'The revision (ETag) you edited, e.g. "3": required (428 without it); 409 names who changed the record if it is stale' }],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/EditObject' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Object' }), 400: problem, 404: problem, 409: problem, 413: problem, 422: problem, 428: problem },
        },
      },
      '/api/objects/{id}/withdraw': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: 'Withdraw an object (staff); it takes no more changes', security: bearer, requestBody: { required: true, ...json({ $ref: '#/components/schemas/Withdraw' }) }, responses: { 200: { description: 'Withdrawn' }, 404: problem, 409: problem } },
      },
      '/api/objects/{id}/files/order': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        put: { summary: 'Set the page order (staff): every file id of the object once', security: bearer, requestBody: { required: true, ...json({ $ref: '#/components/schemas/Reorder' }) }, responses: { 200: json({ $ref: '#/components/schemas/Object' }), 404: problem, 409: problem, 422: problem } },
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
            400: problem, 401: problem, 404: problem, 409: problem, 413: problem, 422: problem,
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
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 }, description: 'Problem copies listed at most' }],
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
        get: { summary: 'Every account with its role, status and token names (admins)', security: bearer, responses: { 200: { description: '`{ users: [{ id, name, role, status, hasPassword, tokens: [{ name, role }] }] }`' }, 401: problem, 403: problem } },
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
