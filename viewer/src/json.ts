import type { LanguageMap } from './language.ts';

/**
 * Hand-written guards for JSON read from the network (manifests, info.json, search pages,
 * auth services): lenient where real-world documents are sloppy, never trusting a shape.
 * Their own module so that manifest.ts and auth.ts can both use them without importing each other.
 */

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A single value or an array of them, as an array (Presentation 2 habits survive in P3 manifests). */
export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** A non-empty string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** `id`, or the Presentation/Image API 2 `@id`. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return str(value);
  if (!isObject(value)) return undefined;
  return str(value.id) ?? str(value['@id']);
}

/** `type`, or the Presentation 2 `@type`. */
export function typeOf(value: Json): string | undefined {
  return str(value.type) ?? str(value['@type']);
}

export function contextStrings(value: unknown): string[] {
  return asArray(value).filter((v): v is string => typeof v === 'string');
}

/** A language map; a bare string (or array of strings) is taken as text with no language. */
export function languageMap(value: unknown): LanguageMap {
  if (typeof value === 'string') return { none: [value] };
  if (Array.isArray(value)) {
    const values = value.filter((v): v is string => typeof v === 'string');
    return values.length ? { none: values } : {};
  }
  if (!isObject(value)) return {};
  const map: LanguageMap = {};
  for (const [lang, v] of Object.entries(value)) {
    const values = asArray(v).filter((x): x is string => typeof x === 'string');
    if (values.length) map[lang] = values;
  }
  return map;
}
