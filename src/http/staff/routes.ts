import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { isInstanceAdmin, isStaff, type Viewer } from '../../domain/access-policy.ts';
import type { Bilingual } from '../site/i18n.ts';
import { authOf } from '../auth.ts';
import { figuresScope } from '../access.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';
import { queryString } from '../site/html.ts';
import { PageError, type Site, type SiteKit } from '../site/site-route.ts';
import { registerStaffAdminScreens } from './dashboard.ts';
import { STAFF_TEXT, type StaffShell, staffPage, type StaffUser } from './layout.ts';
import { registerObjectScreens } from './objects.ts';

/**
 * The staff workspace under /staff: server-rendered pages for signed-in staff. Someone not
 * signed in is sent to sign in (and brought back); a signed-in reader gets a 403 page, never
 * a glimpse of a staff page. Each page renders through `staff.route`, which checks the role
 * before anything is read.
 */
export interface StaffSite extends Site {
  user: StaffUser;
  /** The session's CSRF token, for the page's script to send with every change. */
  csrfToken: string | undefined;
  /**
   * The library whose figures the page shows, given the one asked for (see figuresScope): a
   * library's staff get their own library's; another library's is a 403 page.
   */
  figuresLibrary: (asked?: string) => string | undefined;
  /** The whole HTML document for a page of the workspace. */
  render: (shell: StaffShell) => string;
}

export interface StaffRouteOptions {
  /** Who may open the page beyond the staff check (e.g. admins only); default any staff. */
  allow?: (viewer: Viewer) => boolean;
  /** Why the others are refused, naming who may (default: administrators only). */
  refusal?: Bilingual;
}

export interface StaffKit {
  services: AppServices;
  route: (render: (site: StaffSite) => string | Promise<string>, options?: StaffRouteOptions) => Middleware;
}

/** The instance's own screens (accounts, libraries, the job queues of every library). */
export const isAdmin = (viewer: Viewer): boolean => isInstanceAdmin(viewer);

/** Someone not signed in is sent to sign in, and brought back here after. */
function toSignIn(ctx: Context): boolean {
  if (authOf(ctx).actor.role !== 'public') return false;
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(`/sign-in${queryString({ return: ctx.originalUrl })}`);
  return true;
}

/** The kit the workspace's pages are made with (also handed to each group of screens). */
export function staffKit(services: AppServices, kit: SiteKit): StaffKit {
  const route: StaffKit['route'] = (render, options = {}) => {
    const page = kit.route(async (site) => {
      const auth = authOf(site.ctx);
      if (!isStaff(auth.actor)) throw new PageError(403, STAFF_TEXT.forbiddenTitle, STAFF_TEXT.forbiddenText);
      if (options.allow && !options.allow(auth.viewer)) throw new PageError(403, STAFF_TEXT.forbiddenTitle, options.refusal ?? STAFF_TEXT.adminOnlyText);
      // Staff pages name confidential works: never kept by any cache.
      site.ctx.set('Cache-Control', 'private, no-store');
      const user: StaffUser = { id: auth.actor.id, name: auth.user?.name ?? auth.actor.id, role: auth.actor.role };
      return render({
        ...site,
        user,
        csrfToken: auth.csrfToken,
        figuresLibrary: (asked) => {
          try {
            return figuresScope(auth.viewer, asked);
          } catch (err) {
            if (err instanceof Problem) throw new PageError(err.status, STAFF_TEXT.forbiddenTitle, err.messages);
            throw err;
          }
        },
        render: (shell) => staffPage(site.page, user, auth.csrfToken, shell),
      });
    });
    return async (ctx: Context, next) => {
      if (toSignIn(ctx)) return;
      await page(ctx, next);
    };
  };
  return { services, route };
}

export function staffRoutes(services: AppServices, kit: SiteKit): Router {
  const router = new Router();
  const staff = staffKit(services, kit);

  router.get('/staff', (ctx) => {
    if (toSignIn(ctx)) return;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect('/staff/objects');
  });
  registerObjectScreens(router, staff);
  registerStaffAdminScreens(router, staff);

  return router;
}
