import { escapeXml } from '../../formats/xml.ts';

/**
 * HTML built with a tagged template that escapes every interpolated value unless it is
 * already `SafeHtml`. Pages are assembled only from `html` fragments, so a catalogue value
 * can never become markup: forgetting to escape is not possible.
 * Attribute values must be quoted in templates; the escaping covers `"` and `'`.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  // XML escaping (with NFC, dropping what markup cannot carry) is also correct HTML, for
  // element content and quoted attributes alike.
  return escapeXml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Query string for links: values percent-encoded, empty values dropped, keys in the given order. */
export function queryString(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** An absolute http(s) URL, for links to the outside world (rights statements); else undefined. */
export function httpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
