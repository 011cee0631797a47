import type Router from '@koa/router';
import { type FixityProblemItem, type FixityStateWord, FIXITY_STATES } from '../../projections/fixity-summary.ts';
import { preservationSummary, type RootLag } from '../routes/preservation.ts';
import { html, type SafeHtml } from '../site/html.ts';
import { type Bilingual, type Lang, formatCount, tr } from '../site/i18n.ts';
import { registerJobScreens } from './jobs.ts';
import { registerProvenanceScreens } from './provenance.ts';
import type { StaffKit } from './routes.ts';
import { figuresNotice, registerStatsScreens } from './stats.ts';
import { publicLibraries } from '../../projections/library-map.ts';
import { registerUserScreens } from './users.ts';
import { registerLibraryScreens } from './libraries.ts';

/**
 * The preservation dashboard (/staff/preservation): how many stored copies are in each fixity
 * state, the ones that need a person (damaged and failed first) with links to each work's
 * provenance timeline and a "check again now" button, and how far each replica root lags.
 * Read from the same summary as GET /api/preservation/summary; the button calls
 * POST /api/objects/:id/fixity-check (viewer/src/staff/dashboard.ts).
 */
export const STATE_NAMES: Record<FixityStateWord, Bilingual> = {
  passed: { vi: 'Đạt', en: 'Passed' },
  failed: { vi: 'Lỗi chưa xử lý', en: 'Failed' },
  repaired: { vi: 'Đã sửa', en: 'Repaired' },
  damaged: { vi: 'Hỏng, không sửa được', en: 'Damaged' },
  overdue: { vi: 'Quá hạn kiểm tra', en: 'Overdue' },
  unchecked: { vi: 'Chưa từng kiểm tra', en: 'Never checked' },
};

const TEXT = {
  title: { vi: 'Bảo quản: tính toàn vẹn của kho', en: 'Preservation: fixity of the repository' },
  intro: {
    vi: 'Mỗi bản lưu (tệp gốc trên một gốc lưu trữ, ảnh phái sinh, tệp kiểm kê OCFL) được kiểm tra định kỳ bằng giá trị băm. Những bản cần xử lý được liệt kê trước.',
    en: 'Every stored copy (a master on one storage root, a derivative, an OCFL inventory) is checked on a schedule against its digests. Copies that need attention are listed first.',
  },
  counts: { vi: 'Số bản lưu theo trạng thái', en: 'Copies by state' },
  copies: { vi: 'bản lưu', en: 'copies' },
  objects: { vi: 'tài liệu', en: 'objects' },
  problems: { vi: 'Cần xử lý', en: 'Needs attention' },
  none: { vi: 'Không có bản lưu nào cần xử lý.', en: 'No copy needs attention.' },
  more: { vi: 'bản lưu khác cần xử lý (xem API /api/preservation/summary?limit=1000)', en: 'more copies need attention (see /api/preservation/summary?limit=1000)' },
  state: { vi: 'Trạng thái', en: 'State' },
  object: { vi: 'Tài liệu', en: 'Object' },
  file: { vi: 'Tệp', en: 'File' },
  root: { vi: 'Gốc lưu trữ', en: 'Storage root' },
  since: { vi: 'Từ lúc', en: 'Since' },
  actions: { vi: 'Thao tác', en: 'Actions' },
  timeline: { vi: 'Lịch sử bảo quản', en: 'Provenance' },
  recheck: { vi: 'Kiểm tra lại ngay', en: 'Re-check now' },
  replication: { vi: 'Độ trễ sao lưu theo gốc lưu trữ', en: 'Replication lag per storage root' },
  noReplicas: { vi: 'Chưa cấu hình bản sao nào (THUKHO_REPLICAS).', en: 'No replica roots are configured (THUKHO_REPLICAS).' },
  behind: { vi: 'Phiên bản còn thiếu', en: 'Versions behind' },
  differs: { vi: 'Khác biệt', en: 'Differing' },
  measured: { vi: 'Đo lúc', en: 'Measured' },
  unreadable: { vi: 'không đọc được (chưa gắn ổ?)', en: 'cannot be read (not mounted?)' },
  notMeasured: { vi: 'chưa đo', en: 'not measured yet' },
  inventory: { vi: 'tệp kiểm kê OCFL', en: 'OCFL inventory' },
  derivative: { vi: 'ảnh phái sinh', en: 'derivative' },
  recheckOne: { vi: 'Kiểm tra lại một tài liệu', en: 'Re-check one object' },
  objectId: { vi: 'Mã tài liệu', en: 'Object id' },
} as const satisfies Record<string, Bilingual>;

export const when = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—');

export function stateBadge(lang: Lang, state: FixityStateWord): SafeHtml {
  return html`<span class="badge badge-${state}" data-state="${state}">${tr(lang, STATE_NAMES[state])}</span>`;
}

export function recheckButton(lang: Lang, objectId: string): SafeHtml {
  return html`<button type="button" class="recheck" data-object-id="${objectId}">${tr(lang, TEXT.recheck)}</button>`;
}

function problemRow(lang: Lang, p: FixityProblemItem): SafeHtml {
  const href = `/staff/objects/${encodeURIComponent(p.objectId)}/provenance`;
  const what = p.target === 'master' ? (p.fileId ?? '') : p.target === 'inventory' ? tr(lang, TEXT.inventory) : `${tr(lang, TEXT.derivative)} ${p.fileId ?? ''}`;
  return html`<tr data-object-id="${p.objectId}" data-state="${p.state}">
<td>${stateBadge(lang, p.state)}${p.failure ? html` <small>(${p.failure})</small>` : ''}</td>
<td><a href="${href}">${p.title ?? p.objectId}</a><br><small>${p.objectId}</small></td>
<td>${what}${p.path ? html`<br><small>${p.path}</small>` : ''}</td>
<td>${p.root}</td>
<td>${when(p.at)}</td>
<td class="actions"><a href="${href}">${tr(lang, TEXT.timeline)}</a> ${recheckButton(lang, p.objectId)}</td>
</tr>`;
}

function lagRow(lang: Lang, r: RootLag): SafeHtml {
  return html`<tr data-root="${r.label}">
<td>${r.label}<br><small>${r.path}</small></td>
<td>${r.readable ? (r.behind ?? tr(lang, TEXT.notMeasured)) : html`<span class="badge badge-failed">${tr(lang, TEXT.unreadable)}</span>`}</td>
<td>${r.differs ?? '—'}</td>
<td>${when(r.measuredAt)}</td>
</tr>`;
}

function registerPreservationScreens(router: Router, staff: StaffKit): void {
  router.get(
    '/staff/preservation',
    staff.route(async (s) => {
      const lang = s.page.lang;
      const library = s.figuresLibrary();
      const summary = await preservationSummary(staff.services, 200, library);
      const main = html`<h1>${tr(lang, TEXT.title)}</h1>
${figuresNotice(lang, library, library === undefined ? [] : publicLibraries(staff.services.readDb, staff.services.config))}
<p>${tr(lang, TEXT.intro)}</p>
<section aria-labelledby="fixity-counts">
<h2 id="fixity-counts">${tr(lang, TEXT.counts)}</h2>
<p>${formatCount(lang, summary.copies)} ${tr(lang, TEXT.copies)} · ${formatCount(lang, summary.objects)} ${tr(lang, TEXT.objects)}</p>
<table class="fixity-counts"><tbody>
${FIXITY_STATES.map((st) => html`<tr data-state="${st}"><th scope="row">${stateBadge(lang, st)}</th><td class="count">${formatCount(lang, summary.counts[st])}</td></tr>`)}
</tbody></table>
</section>
<section aria-labelledby="fixity-problems">
<h2 id="fixity-problems">${tr(lang, TEXT.problems)}</h2>
${
  summary.problems.length === 0
    ? html`<p class="notice notice-ok">${tr(lang, TEXT.none)}</p>`
    : html`<table class="fixity-problems">
<thead><tr><th>${tr(lang, TEXT.state)}</th><th>${tr(lang, TEXT.object)}</th><th>${tr(lang, TEXT.file)}</th><th>${tr(lang, TEXT.root)}</th><th>${tr(lang, TEXT.since)}</th><th>${tr(lang, TEXT.actions)}</th></tr></thead>
<tbody>${summary.problems.map((p) => problemRow(lang, p))}</tbody>
</table>${summary.moreProblems ? html`<p>+ ${formatCount(lang, summary.moreProblems)} ${tr(lang, TEXT.more)}</p>` : ''}`
}
</section>
<section aria-labelledby="recheck-one">
<h2 id="recheck-one">${tr(lang, TEXT.recheckOne)}</h2>
<form class="filters recheck-form" id="recheck-form">
<div class="field"><label for="recheck-id">${tr(lang, TEXT.objectId)}</label><input type="text" id="recheck-id" name="objectId" required autocomplete="off" spellcheck="false"></div>
<div class="field"><button type="submit">${tr(lang, TEXT.recheck)}</button></div>
</form>
</section>
<section aria-labelledby="replication">
<h2 id="replication">${tr(lang, TEXT.replication)}</h2>
${
  summary.replication.length === 0
    ? html`<p>${tr(lang, TEXT.noReplicas)}</p>`
    : html`<table class="replication"><thead><tr><th>${tr(lang, TEXT.root)}</th><th>${tr(lang, TEXT.behind)}</th><th>${tr(lang, TEXT.differs)}</th><th>${tr(lang, TEXT.measured)}</th></tr></thead>
<tbody>${summary.replication.map((r) => lagRow(lang, r))}</tbody></table>`
}
</section>`;
      return s.render({ title: tr(lang, TEXT.title), section: 'preservation', main, script: 'dashboard' });
    }),
  );
}

/** Every screen of the preservation, jobs, statistics and users sections (one line in staffRoutes). */
export function registerStaffAdminScreens(router: Router, staff: StaffKit): void {
  registerPreservationScreens(router, staff);
  registerProvenanceScreens(router, staff);
  registerJobScreens(router, staff);
  registerStatsScreens(router, staff);
  registerUserScreens(router, staff);
  registerLibraryScreens(router, staff);
}
