import { defineConfig } from 'vite';

// No node: imports, so the viewer tsconfig needs no Node types (they would leak into DOM code).
const here = (path: string): string => decodeURIComponent(new URL(path, import.meta.url).pathname);

/**
 * Three entries (reading room, site styles, staff workspace) and no index.html: the server renders the pages and reads
 * dist/.vite/manifest.json to link the hashed files (keys `src/main.ts`, `src/site.css`, `src/staff/main.ts`).
 */
export default defineConfig({
  root: here('.'),
  // Files land in dist/assets/ and the server serves that folder at /assets/.
  base: '/',
  publicDir: false,
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    manifest: true,
    assetsDir: 'assets',
    target: 'es2022',
    rollupOptions: {
      input: {
        main: here('./src/main.ts'),
        site: here('./src/site.css'),
        staff: here('./src/staff/main.ts'),
      },
    },
  },
});
