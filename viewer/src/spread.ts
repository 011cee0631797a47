import type { Region } from './region.ts';

/**
 * Which canvases are shown together, and where they sit in the OpenSeadragon world.
 * World units are canvas pixels of the group's tallest page, so a region in a page's own
 * canvas pixels maps to the world by one scale and one offset.
 */

export interface SpreadCanvas {
  width: number;
  height: number;
  behavior: readonly string[];
}

/** Canvas indexes (0-based) of each view, in reading order. */
export type Groups = number[][];

/** A canvas that must not share the view with a neighbour. */
function standsAlone(c: SpreadCanvas): boolean {
  return c.behavior.includes('non-paged') || c.behavior.includes('facing-pages');
}

/**
 * Single pages, or the book layout: the first canvas alone (a cover or recto opens the
 * book), then pairs; a `facing-pages` or `non-paged` canvas is a view of its own.
 */
export function groupCanvases(canvases: readonly SpreadCanvas[], spread: boolean): Groups {
  const n = canvases.length;
  if (!spread) return canvases.map((_, i) => [i]);
  const groups: Groups = [];
  let i = 0;
  if (n > 0) groups.push([i++]);
  while (i < n) {
    const here = canvases[i];
    const next = canvases[i + 1];
    if (here && next && !standsAlone(here) && !standsAlone(next)) {
      groups.push([i, i + 1]);
      i += 2;
    } else {
      groups.push([i]);
      i += 1;
    }
  }
  return groups;
}

/** The view that contains canvas `index` (0-based); 0 when out of range. */
export function groupOfCanvas(groups: Groups, index: number): number {
  const g = groups.findIndex((group) => group.includes(index));
  return g < 0 ? 0 : g;
}

export interface Placement {
  index: number;
  x: number;
  y: number;
  /** Width in world units. */
  width: number;
  height: number;
  /** World units per canvas pixel. */
  scale: number;
}

/** Gap between facing pages, as a fraction of the page height (a hint of the gutter). */
const GAP = 0.01;

export type Direction = 'left-to-right' | 'right-to-left' | 'top-to-bottom' | 'bottom-to-top';

/**
 * Positions of a view's canvases, side by side at the same height. In a right-to-left
 * book the earlier page is on the right.
 */
export function layoutGroup(group: readonly number[], sizes: readonly { width: number; height: number }[], direction: Direction): Placement[] {
  const dims = group.map((index) => {
    const s = sizes[index];
    const w = s && s.width > 0 ? s.width : 1000;
    const h = s && s.height > 0 ? s.height : 1400;
    return { index, w, h };
  });
  const height = Math.max(...dims.map((d) => d.h));
  const ordered = direction === 'right-to-left' ? [...dims].reverse() : dims;
  const gap = ordered.length > 1 ? height * GAP : 0;
  const out: Placement[] = [];
  let x = 0;
  for (const d of ordered) {
    const scale = height / d.h;
    out.push({ index: d.index, x, y: 0, width: d.w * scale, height, scale });
    x += d.w * scale + gap;
  }
  // Report in reading order, whatever the visual order.
  return group.map((index) => out.find((p) => p.index === index)).filter((p): p is Placement => p !== undefined);
}

/** A canvas-pixel region of a placed canvas, in world units. */
export function canvasToWorld(p: Placement, r: Region): Region {
  return { x: p.x + r.x * p.scale, y: p.y + r.y * p.scale, w: r.w * p.scale, h: r.h * p.scale };
}

/** A world rectangle in the canvas pixels of a placed canvas (not clamped). */
export function worldToCanvas(p: Placement, r: Region): Region {
  return { x: (r.x - p.x) / p.scale, y: (r.y - p.y) / p.scale, w: r.w / p.scale, h: r.h / p.scale };
}

/** The placement under a world point's x (nearest one when the point is in the gutter or outside). */
export function placementAt(placements: readonly Placement[], x: number): Placement | undefined {
  let best: Placement | undefined;
  let bestDistance = Infinity;
  for (const p of placements) {
    const distance = x < p.x ? p.x - x : x > p.x + p.width ? x - (p.x + p.width) : 0;
    if (distance < bestDistance) {
      best = p;
      bestDistance = distance;
    }
  }
  return best;
}
