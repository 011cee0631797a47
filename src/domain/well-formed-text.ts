import type { z } from 'zod';

/**
 * Text that every consumer downstream can carry. A lone UTF-16 surrogate ("\ud800") passes
 * JSON.parse, but it has no UTF-8 encoding: the API, manifests and OAI-PMH would then serve
 * JSON and XML that strict parsers reject. C0 control characters other than tab, line feed and
 * carriage return (NUL above all) are forbidden in XML 1.0 and cut C strings short; none
 * belongs in a catalogue record.
 */
export function textFault(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x20 && unit !== 0x09 && unit !== 0x0a && unit !== 0x0d) {
      const code = `U+${unit.toString(16).toUpperCase().padStart(4, '0')}`;
      return `chứa ký tự điều khiển ${code} ở vị trí ${i + 1} / contains the control character ${code} at position ${i + 1}`;
    }
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      const code = `\\u${unit.toString(16)}`;
      return `chứa nửa cặp thay thế UTF-16 lẻ loi (${code}) ở vị trí ${i + 1}, không phải Unicode hợp lệ / contains a lone UTF-16 surrogate (${code}) at position ${i + 1}, which is not valid Unicode`;
    }
  }
  return null;
}

/** `textFault` as a zod check: `.superRefine(wellFormedText)` on any string a person typed. */
export function wellFormedText(s: string, ctx: z.RefinementCtx): void {
  const fault = textFault(s);
  if (fault) ctx.addIssue({ code: 'custom', message: fault });
}
