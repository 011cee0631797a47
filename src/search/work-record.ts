import type { Metadata } from '../domain/metadata.ts';
import type { Segment } from './port.ts';
import { snippet } from './snippet.ts';

/** What both adapters index of a work's record, one text per weighted field. */
export type WorkField = 'title' | 'alt' | 'creator' | 'identifier' | 'subject' | 'description' | 'other';

export function workFieldText(m: Metadata): Record<WorkField, string> {
  return {
    title: m.title,
    alt: (m.alternativeTitle ?? []).join('\n'),
    creator: m.creator ?? '',
    identifier: m.identifier ?? '',
    subject: m.subject ?? '',
    description: m.description ?? '',
    other: [m.date, m.type, m.source, m.extent, m.format].filter(Boolean).join('\n'),
  };
}

/** A passage of description, subject or alternative titles: the first with a match, else the first there is. */
export function recordSnippet(m: Metadata, folded: ReadonlySet<string>): Segment[] {
  const fields = [m.description, m.subject, m.alternativeTitle?.join('; ')].filter((s): s is string => !!s?.trim());
  for (const field of fields) {
    const cut = snippet(field, folded);
    if (cut.firstMatch) return cut.segments;
  }
  return fields[0] ? snippet(fields[0], folded).segments : [];
}
