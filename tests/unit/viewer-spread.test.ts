import test from 'ava';
import { canvasToWorld, groupCanvases, groupOfCanvas, layoutGroup, placementAt, worldToCanvas } from '../../viewer/src/spread.ts';

const page = (behavior: string[] = []) => ({ width: 1000, height: 1500, behavior });

test('single pages unless spread; spread: first alone, then pairs', (t) => {
  const five = [page(), page(), page(), page(), page()];
  t.deepEqual(groupCanvases(five, false), [[0], [1], [2], [3], [4]]);
  t.deepEqual(groupCanvases(five, true), [[0], [1, 2], [3, 4]]);
  t.deepEqual(groupCanvases(five.slice(0, 4), true), [[0], [1, 2], [3]]);
  t.deepEqual(groupCanvases([page()], true), [[0]]);
  t.deepEqual(groupCanvases([], true), []);
});

test('non-paged and facing-pages canvases stand alone', (t) => {
  const cs = [page(), page(), page(['facing-pages']), page(), page(['non-paged']), page(), page()];
  t.deepEqual(groupCanvases(cs, true), [[0], [1], [2], [3], [4], [5, 6]]);
});

test('page ↔ group', (t) => {
  const groups = groupCanvases([page(), page(), page(), page(), page()], true);
  t.is(groupOfCanvas(groups, 0), 0);
  t.is(groupOfCanvas(groups, 2), 1);
  t.is(groupOfCanvas(groups, 3), 2);
  t.is(groupOfCanvas(groups, 99), 0);
});

test('layout: same height, earlier page left (ltr) or right (rtl), small gap', (t) => {
  const sizes = [
    { width: 1000, height: 1500 },
    { width: 2000, height: 3000 },
  ];
  const ltr = layoutGroup([0, 1], sizes, 'left-to-right');
  t.is(ltr.length, 2);
  t.is(ltr[0]?.index, 0);
  t.is(ltr[0]?.x, 0);
  t.is(ltr[0]?.height, 3000);
  t.is(ltr[0]?.scale, 2);
  t.is(ltr[0]?.width, 2000);
  t.true((ltr[1]?.x ?? 0) > 2000 && (ltr[1]?.x ?? 0) < 2100);
  const rtl = layoutGroup([0, 1], sizes, 'right-to-left');
  t.is(rtl[0]?.index, 0);
  t.true((rtl[0]?.x ?? 0) > (rtl[1]?.x ?? 0));
  t.is(rtl[1]?.x, 0);
});

test('region mapping round-trips and picks the page under a point', (t) => {
  const ps = layoutGroup([0, 1], [{ width: 1000, height: 1500 }, { width: 1000, height: 1500 }], 'left-to-right');
  const p1 = ps[1]!;
  const r = { x: 100, y: 200, w: 300, h: 400 };
  const world = canvasToWorld(p1, r);
  t.deepEqual(worldToCanvas(p1, world), r);
  t.is(placementAt(ps, 10)?.index, 0);
  t.is(placementAt(ps, p1.x + 10)?.index, 1);
  t.is(placementAt(ps, -50)?.index, 0);
  t.is(placementAt(ps, 99999)?.index, 1);
});
