import { asArray, idOf, isObject, selectorRegion, typeOf } from './manifest.ts';
import { formatXywh, splitFragment, type Region } from './region.ts';

/**
 * IIIF Content State 1.0: what a share link carries to any IIIF viewer.
 * Encoding (spec §6): encodeURIComponent the JSON, then base64url without padding —
 * the URI-encoding step keeps non-Latin text (Vietnamese, Han) out of btoa's Latin-1 range.
 */

export interface ContentState {
  manifestId: string;
  canvasId?: string;
  xywh?: Region;
}

export function encodeContentState(json: string): string {
  return btoa(encodeURIComponent(json)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The JSON text of an encoded content state, or undefined when it is not valid base64url. */
export function decodeContentState(encoded: string): string | undefined {
  const b64 = encoded.trim().replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  try {
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    return decodeURIComponent(atob(padded));
  } catch {
    return undefined;
  }
}

/** The Annotation a share link carries: this canvas (and region) of this manifest. */
export function shareAnnotation(state: ContentState): Record<string, unknown> {
  const canvas = state.canvasId ?? state.manifestId;
  const target = state.canvasId
    ? {
        id: state.xywh ? `${canvas}#xywh=${formatXywh(state.xywh)}` : canvas,
        type: 'Canvas',
        partOf: [{ id: state.manifestId, type: 'Manifest' }],
      }
    : { id: state.manifestId, type: 'Manifest' };
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: `${canvas}#content-state`,
    type: 'Annotation',
    motivation: ['contentState'],
    target,
  };
}

export function encodeShareAnnotation(state: ContentState): string {
  return encodeContentState(JSON.stringify(shareAnnotation(state)));
}

/** A target resource: a Manifest, or a Canvas (with partOf its Manifest), or a SpecificResource of one. */
function fromTarget(target: unknown): ContentState | undefined {
  if (typeof target === 'string') return undefined; // a bare URL says nothing about its type or manifest
  if (!isObject(target)) return undefined;
  const type = typeOf(target);
  if (type === 'SpecificResource') {
    const source = target.source;
    const inner = fromTarget(source);
    if (!inner || !inner.canvasId) return inner;
    const xywh = selectorRegion(target);
    return xywh ? { ...inner, xywh } : inner;
  }
  const rawId = idOf(target);
  if (!rawId) return undefined;
  if (type === 'Manifest') return { manifestId: rawId };
  if (type === 'Canvas') {
    const manifest = asArray(target.partOf).find((p) => isObject(p) && (typeOf(p) === 'Manifest' || typeOf(p) === undefined));
    const manifestId = idOf(manifest);
    if (!manifestId) return undefined;
    const { id, xywh } = splitFragment(rawId);
    return xywh ? { manifestId, canvasId: id, xywh } : { manifestId, canvasId: id };
  }
  return undefined;
}

/** Reads a parsed content state: an Annotation (target may be an array: first usable wins) or a bare reference. */
export function parseContentState(json: unknown): ContentState | undefined {
  if (!isObject(json)) return undefined;
  if (typeOf(json) === 'Annotation') {
    for (const target of asArray(json.target)) {
      const state = fromTarget(target);
      if (state) return state;
    }
    return undefined;
  }
  return fromTarget(json);
}

export type ContentStateInput = { kind: 'json'; value: unknown } | { kind: 'url'; url: string } | { kind: 'invalid' };

/**
 * What an `iiif-content` parameter holds: base64url (the spec's form), plain JSON, or an
 * http(s) URL of a content state (or of a manifest) to fetch.
 */
export function readContentStateParam(param: string): ContentStateInput {
  const raw = param.trim();
  if (/^https?:\/\//i.test(raw)) return { kind: 'url', url: raw };
  if (raw.startsWith('{')) {
    try {
      return { kind: 'json', value: JSON.parse(raw) as unknown };
    } catch {
      return { kind: 'invalid' };
    }
  }
  const decoded = decodeContentState(raw);
  if (decoded === undefined) return { kind: 'invalid' };
  if (/^https?:\/\//i.test(decoded.trim())) return { kind: 'url', url: decoded.trim() };
  try {
    return { kind: 'json', value: JSON.parse(decoded) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}
