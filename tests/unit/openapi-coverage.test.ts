import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { openApiDocument } from '../../src/http/openapi.ts';

/**
 * Every route the server answers under /api, /iiif, /health and /metrics is in
 * /api/openapi.json with its methods: the staff screens are built on these routes, and a
 * script must be able to find each of them there. The routes are read from the route
 * modules' source (`router.get('/api/…'`), so a route added without its description fails here.
 */
const ROUTES_DIR = fileURLToPath(new URL('../../src/http/routes/', import.meta.url));
const DOCUMENTED_PREFIXES = ['/api/', '/iiif/', '/health', '/metrics'];

function declaredRoutes(): Array<{ method: string; path: string; file: string }> {
  const out: Array<{ method: string; path: string; file: string }> = [];
  for (const file of readdirSync(ROUTES_DIR).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(ROUTES_DIR, file), 'utf8');
    for (const m of source.matchAll(/router\.(get|post|put|patch|delete)\(\s*'([^']+)'/g)) {
      const [, method = '', path = ''] = m;
      if (DOCUMENTED_PREFIXES.some((p) => path.startsWith(p))) out.push({ method, path, file });
    }
  }
  return out;
}

test('every /api, IIIF, health and metrics route is in the OpenAPI document with its method', (t) => {
  const doc = openApiDocument('http://localhost:8080') as { paths: Record<string, Record<string, unknown>> };
  // Parameters match by place, not by name (the image routes' `:fileId` is documented as `{imageId}`).
  const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');
  const documented = new Map(Object.entries(doc.paths).map(([path, ops]) => [shape(path), ops]));
  const routes = declaredRoutes();
  t.true(routes.length > 30, `only ${routes.length} routes found: the source scan is broken`);
  const missing = routes
    .map((r) => ({ ...r, openapi: r.path.replace(/:([A-Za-z]+)/g, '{$1}') }))
    .filter((r) => !documented.get(shape(r.openapi))?.[r.method])
    .map((r) => `${r.method.toUpperCase()} ${r.openapi} (${r.file})`);
  t.deepEqual(missing, []);
});

test('the route scan sees routes in every module that declares them', (t) => {
  const files = new Set(declaredRoutes().map((r) => r.file));
  for (const f of ['objects.ts', 'files.ts', 'provenance.ts', 'audit.ts', 'iiif-presentation.ts', 'health.ts']) t.true(files.has(f), f);
});
