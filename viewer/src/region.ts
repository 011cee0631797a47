/** A rectangle in canvas pixels (a Media Fragments `xywh=`). */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** `x,y,w,h` (optionally prefixed `xywh=` / `pixel:`) with non-negative integers and a non-empty area. */
export function parseXywh(value: string | null | undefined): Region | undefined {
  if (!value) return undefined;
  const m = /^(?:xywh=)?(?:pixel:)?\s*(\d+(?:\.\d+)?),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m) return undefined;
  const [x, y, w, h] = [m[1], m[2], m[3], m[4]].map((n) => Math.round(Number(n)));
  if (x === undefined || y === undefined || w === undefined || h === undefined || w <= 0 || h <= 0) return undefined;
  return { x, y, w, h };
}

export function formatXywh(r: Region): string {
  return [r.x, r.y, r.w, r.h].map((n) => Math.round(n)).join(',');
}

/** The part of `r` inside a width × height canvas, or undefined when they do not overlap. */
export function clampRegion(r: Region, width: number, height: number): Region | undefined {
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(width, r.x + r.w);
  const y1 = Math.min(height, r.y + r.h);
  if (x1 - x0 < 1 || y1 - y0 < 1) return undefined;
  return { x: Math.round(x0), y: Math.round(y0), w: Math.round(x1 - x0), h: Math.round(y1 - y0) };
}

/** Splits `canvas#xywh=…` into the id and the region. */
export function splitFragment(target: string): { id: string; xywh?: Region } {
  const hash = target.indexOf('#');
  if (hash < 0) return { id: target };
  const id = target.slice(0, hash);
  const params = new URLSearchParams(target.slice(hash + 1));
  const xywh = parseXywh(params.get('xywh'));
  return xywh ? { id, xywh } : { id };
}
