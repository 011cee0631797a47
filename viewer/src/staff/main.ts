import './staff.css';

/**
 * The staff workspace's script: one entry, and each page's module loaded on demand by the
 * name the server put in `<body data-staff-page>`, so a page downloads only what it uses.
 */
type PageModule = { start: () => void | Promise<void> };

const PAGES: Record<string, () => Promise<PageModule>> = {
  'object-new': () => import('./objects-new.ts'),
  object: () => import('./objects.ts'),
  dashboard: () => import('./dashboard.ts'),
  stats: () => import('./stats.ts'),
  users: () => import('./users.ts'),
  libraries: () => import('./libraries.ts'),
};

const name = document.body.dataset.staffPage ?? '';
const load = PAGES[name];
if (load) {
  load()
    .then((m) => m.start())
    .catch((err: unknown) => {
      console.error('staff page script failed', err);
    });
}
