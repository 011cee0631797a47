import type Router from '@koa/router';
import { type ChainStatus, objectProvenance, type PremisEvent, type Provenance } from '../../application/provenance.ts';
import { DomainError } from '../../domain/errors.ts';
import { html, type SafeHtml } from '../site/html.ts';
import { type Bilingual, type Lang, tr } from '../site/i18n.ts';
import { PageError } from '../site/site-route.ts';
import { recheckButton } from './dashboard.ts';
import type { StaffKit } from './routes.ts';

/**
 * A work's provenance timeline (/staff/objects/:id/provenance): every event of both of its
 * streams in log order, with who did it, the PREMIS event type and outcome, and above all
 * whether the hash chains vouch for the record (verified, or broken at which event). The
 * same data as GET /api/objects/:id/provenance, whose PREMIS XML is linked for download.
 */
const TEXT = {
  title: { vi: 'Lịch sử bảo quản', en: 'Provenance timeline' },
  notFoundTitle: { vi: 'Không tìm thấy tài liệu', en: 'Object not found' },
  verified: { vi: 'Chuỗi băm đã được xác minh: không sự kiện nào bị sửa hay xoá.', en: 'Hash chain verified: no event has been altered or removed.' },
  broken: { vi: 'CHUỖI BĂM BỊ ĐỨT', en: 'HASH CHAIN BROKEN' },
  brokenAt: { vi: 'tại sự kiện', en: 'at event' },
  decisions: { vi: 'Dòng quyết định (tài liệu)', en: 'Decisions stream (object)' },
  facts: { vi: 'Dòng dữ kiện bảo quản', en: 'Preservation facts stream' },
  events: { vi: 'sự kiện', en: 'events' },
  premisXml: { vi: 'Tải PREMIS XML', en: 'Download PREMIS XML' },
  json: { vi: 'JSON', en: 'JSON' },
  when: { vi: 'Thời điểm', en: 'When' },
  type: { vi: 'Loại sự kiện PREMIS', en: 'PREMIS event type' },
  detail: { vi: 'Chi tiết', en: 'Detail' },
  actor: { vi: 'Người / chương trình thực hiện', en: 'Actor' },
  outcome: { vi: 'Kết quả', en: 'Outcome' },
  unverified: { vi: 'sau chỗ đứt: không được chuỗi bảo đảm', en: 'after the break: not vouched for' },
  unreadable: { vi: 'Sự kiện không đọc được', en: 'Unreadable events' },
  back: { vi: '← Bảng bảo quản', en: '← Preservation dashboard' },
} as const satisfies Record<string, Bilingual>;

function chainLine(lang: Lang, label: Bilingual, chain: ChainStatus, streamId: string, events: PremisEvent[]): SafeHtml {
  if (chain.status === 'intact') {
    return html`<li data-chain="verified"><span class="badge badge-passed">✓</span> ${tr(lang, label)} <code>${streamId}</code>: ${chain.events} ${tr(lang, TEXT.events)}</li>`;
  }
  const n = events.findIndex((e) => e.record.streamId === streamId && e.record.revision === chain.revision);
  return html`<li data-chain="broken"><span class="badge badge-damaged">✗</span> <strong>${tr(lang, TEXT.broken)}</strong> — ${tr(lang, label)} <code>${streamId}</code>
${tr(lang, TEXT.brokenAt)} ${n >= 0 ? `#${n + 1}` : ''} (revision ${chain.revision}, ${chain.eventId}): ${chain.reason}</li>`;
}

function eventRow(lang: Lang, e: PremisEvent, i: number): SafeHtml {
  const outcome = e.eventOutcomeInformation.eventOutcome.value;
  const note = e.eventOutcomeInformation.eventOutcomeDetail?.note;
  const agent = e.linkingAgentIdentifier[0];
  const good = outcome === 'success' || outcome === 'pass';
  return html`<tr data-event-type="${e.record.type}"${e.record.chainVerified ? '' : html` class="unverified"`}>
<td>${i + 1}</td>
<td><time datetime="${e.eventDateTime}">${e.eventDateTime.slice(0, 19).replace('T', ' ')}</time></td>
<td><a href="${e.eventType.valueURI}">${e.eventType.value}</a><br><small>${e.record.type}</small></td>
<td>${tr(lang, e.eventDetailInformation.eventDetail)}${e.record.chainVerified ? '' : html`<br><small class="field-error">${tr(lang, TEXT.unverified)}</small>`}</td>
<td>${agent ? html`${agent.value}<br><small>${agent.actorRole} · ${agent.agentType}</small>` : '—'}</td>
<td><span class="badge ${good ? 'badge-passed' : 'badge-failed'}">${outcome}</span>${note ? html`<br><small>${tr(lang, note)}</small>` : ''}</td>
</tr>`;
}

export function provenanceMain(lang: Lang, p: Provenance): SafeHtml {
  const id = encodeURIComponent(p.objectId);
  const verified = p.chain.status === 'intact' && p.factsChain.status === 'intact';
  return html`<p><a href="/staff/preservation">${tr(lang, TEXT.back)}</a></p>
<h1>${tr(lang, TEXT.title)}: ${p.object.title ?? p.objectId}</h1>
<p><code>${p.objectId}</code> · ${p.object.status} · ${p.object.accessLevel ?? ''}</p>
<div class="chain-status ${verified ? 'notice notice-ok' : 'notice notice-error'}" data-chain-status="${verified ? 'verified' : 'broken'}" role="status">
${verified ? html`<p><strong>${tr(lang, TEXT.verified)}</strong></p>` : ''}
<ul>
${chainLine(lang, TEXT.decisions, p.chain, p.streamId, p.events)}
${chainLine(lang, TEXT.facts, p.factsChain, p.factsStreamId, p.events)}
</ul>
</div>
<p class="actions"><a href="/api/objects/${id}/provenance?format=xml" download="premis-${p.objectId}.xml">${tr(lang, TEXT.premisXml)}</a> · <a href="/api/objects/${id}/provenance?format=json">${tr(lang, TEXT.json)}</a> · ${recheckButton(lang, p.objectId)}</p>
<table class="provenance-events">
<thead><tr><th>#</th><th>${tr(lang, TEXT.when)}</th><th>${tr(lang, TEXT.type)}</th><th>${tr(lang, TEXT.detail)}</th><th>${tr(lang, TEXT.actor)}</th><th>${tr(lang, TEXT.outcome)}</th></tr></thead>
<tbody>${p.events.map((e, i) => eventRow(lang, e, i))}</tbody>
</table>
${
  p.unreadable.length
    ? html`<h2>${tr(lang, TEXT.unreadable)}</h2><ul>${p.unreadable.map((u) => html`<li><code>${u.streamId}</code> @ ${u.revision} (${u.type}): ${u.reason}</li>`)}</ul>`
    : ''
}`;
}

export function registerProvenanceScreens(router: Router, staff: StaffKit): void {
  router.get(
    '/staff/objects/:id/provenance',
    staff.route(async (s) => {
      const lang = s.page.lang;
      const objectId = String(s.ctx.params.id ?? '');
      let p: Provenance;
      try {
        p = await objectProvenance(staff.services.store, objectId);
      } catch (err) {
        if (err instanceof DomainError && err.code === 'not-found') throw new PageError(404, TEXT.notFoundTitle, err.messages);
        throw err;
      }
      return s.render({ title: `${tr(lang, TEXT.title)}: ${p.object.title ?? p.objectId}`, section: 'preservation', main: provenanceMain(lang, p), script: 'dashboard' });
    }),
  );
}
