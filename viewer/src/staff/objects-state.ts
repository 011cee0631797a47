import { api } from './api.ts';

/**
 * The object an object screen shows, shared by its panels (record, upload, pages, history):
 * whoever changes it through the API hands the answer here, and every panel redraws from it.
 */
export interface FileStatus {
  stored: boolean;
  derivative: 'done' | 'pending' | 'failed';
  ocr: 'done' | 'pending' | 'failed' | 'none';
  replicated: number;
  replicas: number;
}

export interface DerivativeInfo {
  width: number;
  height: number;
  sizes?: Array<{ width: number; height: number }>;
}

export interface StaffFile {
  fileId: string;
  name: string;
  size: number;
  sequence: number;
  mediaType: string;
  digests: { sha256: string; sha512: string };
  image?: { width: number; height: number };
  pdf?: unknown;
  derivative?: DerivativeInfo;
  derivativeFailure?: { reason: string };
  laterPages?: Array<{ page: number; derivative?: DerivativeInfo; derivativeFailure?: { reason: string } }>;
  status?: FileStatus;
}

export interface PageEntry {
  fileId: string;
  page?: number;
  imageId: string;
  label: string;
}

export interface RangeEntry {
  label: string;
  fileId: string;
  page?: number;
}

export interface StaffObject {
  id: string;
  revision: number;
  title: string;
  status: 'active' | 'withdrawn';
  accessLevel: string;
  files: StaffFile[];
  pages?: PageEntry[];
  structure?: RangeEntry[];
  [field: string]: unknown;
}

export interface ObjectPageData {
  object: StaffObject;
  canWrite: boolean;
  labels: Record<string, string>;
  accessNames: Record<string, string>;
}

type Listener = (o: StaffObject) => void;

let current: StaffObject | undefined;
const listeners: Listener[] = [];

export function currentObject(): StaffObject {
  if (!current) throw new Error('object screen not started');
  return current;
}

export function setObject(o: StaffObject): void {
  current = o;
  for (const l of listeners) l(o);
}

export function onObjectChange(l: Listener): void {
  listeners.push(l);
}

/** Reads the object again (after uploads, or to show the version someone else saved). */
export async function reloadObject(): Promise<StaffObject> {
  const res = await api<StaffObject>('GET', `/api/objects/${encodeURIComponent(currentObject().id)}`, { headers: { 'Cache-Control': 'no-cache' } });
  setObject(res.data);
  return res.data;
}

export const ifMatch = (o: StaffObject): Record<string, string> => ({ 'If-Match': `"${o.revision}"` });

/** The pages in reading order: the API's `pages` when it has them, else page 1 of each image file. */
export function pagesOf(o: StaffObject): PageEntry[] {
  if (Array.isArray(o.pages)) return o.pages;
  return [...o.files]
    .filter((f) => f.image !== undefined || f.derivative !== undefined)
    .sort((a, b) => a.sequence - b.sequence)
    .map((f) => ({ fileId: f.fileId, imageId: f.fileId, label: '' }));
}

/** The page's thumbnail address, sized as src/iiif/manifest.ts thumbnailSize does (a pre-cut size when there is one). */
export function thumbnailUrl(o: StaffObject, p: PageEntry): string {
  const file = o.files.find((f) => f.fileId === p.fileId);
  const later = p.page && p.page > 1 ? file?.laterPages?.find((l) => l.page === p.page)?.derivative : undefined;
  const derivative = later ?? file?.derivative;
  const size = later ?? file?.image ?? file?.derivative;
  const base = `/iiif/3/${encodeURIComponent(p.imageId)}/full`;
  const sizes = [...(derivative?.sizes ?? [])].sort((a, b) => a.width - b.width);
  const wide = sizes.find((s) => s.width >= 150) ?? sizes[sizes.length - 1];
  if (wide && size) return `${base}/${wide.width === size.width && wide.height === size.height ? 'max' : `${wide.width},${wide.height}`}/0/default.jpg`;
  if (!size) return `${base}/!200,200/0/default.jpg`;
  const scale = Math.min(200 / size.width, 200 / size.height, 1);
  const w = Math.max(1, Math.round(size.width * scale));
  const h = Math.max(1, Math.round(size.height * scale));
  return `${base}/${w === size.width && h === size.height ? 'max' : `${w},${h}`}/0/default.jpg`;
}
