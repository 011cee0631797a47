import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Another site embedding Mirador 4 (its UMD build, as an institution would): a page with
 * nothing but Mirador and one manifest's URL, served on its own loopback port.
 */
const MIRADOR_JS = fileURLToPath(new URL('../../node_modules/mirador/dist/mirador.min.js', import.meta.url));

/**
 * Console errors that are Mirador's own and not ours: Mirador 4.0.0's bundled dependencies
 * read element.ref, which React 19 reports as an error (ProjectMirador/mirador#4295); and
 * OpenSeadragon may cancel a tile it no longer needs, the client's choice, not a failure.
 */
export const MIRADOR_NOISE = [
  /^console\.error: Accessing element\.ref was removed in React 19\. ref is now a regular prop\./,
  /^request failed: http:\/\/127\.0\.0\.1:\d+\/iiif\/3\/\S+ net::ERR_ABORTED$/,
];

/** `language`: Mirador's interface language (config.language); `info`: open the information panel. */
export interface MiradorPageOptions {
  language?: string;
  info?: boolean;
}

function miradorPage(manifestId: string, options: MiradorPageOptions = {}): string {
  const windowConfig = options.info ? { allowClose: false, sideBarOpen: true, defaultSideBarPanel: 'info' } : { allowClose: false, sideBarOpen: false };
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>Mirador — thử nghiệm</title>
<style>html, body { margin: 0; height: 100%; } #mirador { position: absolute; inset: 0; }</style>
</head>
<body>
<div id="mirador"></div>
<script src="/mirador.min.js"></script>
<script>
  window.miradorInstance = Mirador.viewer({
    id: 'mirador',
    windows: [{ manifestId: ${JSON.stringify(manifestId)} }],
    window: ${JSON.stringify(windowConfig)},
    workspaceControlPanel: { enabled: false },${options.language ? `\n    language: ${JSON.stringify(options.language)},` : ''}
  });
</script>
</body>
</html>`;
}

export async function startMiradorSite(manifestId: string, options: MiradorPageOptions = {}): Promise<{ server: Server; url: string }> {
  const html = miradorPage(manifestId, options);
  const js = readFileSync(MIRADOR_JS);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (path === '/mirador.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'content-length': js.length }).end(js);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
