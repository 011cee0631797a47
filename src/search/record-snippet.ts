import type { Metadata } from '../domain/metadata.ts';
import type { Segment } from './port.ts';
import { snippet } from './snippet.ts';

/** A passage of description, subject or alternative titles: the first with a match, else the first there is. */
export function recordSnippet(m: Metadata, folded: ReadonlySet<string>): Segment[] {
  const fields = [m.description, m.subject, m.alternativeTitle?.join('; ')].filter((s): s is string => !!s?.trim());
  for (const field of fields) {
    const cut = snippet(field, folded);
    if (cut.firstMatch) return cut.segments;
  }
  return fields[0] ? snippet(fields[0], folded).segments : [];
}
