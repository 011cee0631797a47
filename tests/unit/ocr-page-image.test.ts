import test from 'ava';
import sharp from 'sharp';
import { readPageImage } from '../../src/ocr/page-image.ts';

/**
 * The page as the engines get it: RGB for the Han engine, one grey channel for tesseract
 * (bench/ocr measured a quarter less CPU for tesseract.js on a noisy page), the same size and
 * the same picture either way: a yellowed page with dark text stays light paper and dark ink.
 */
async function yellowedPage(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="120"><rect x="20" y="40" width="200" height="40" fill="#30261e"/></svg>`;
  return sharp({ create: { width: 300, height: 120, channels: 4, background: { r: 232, g: 214, b: 170, alpha: 1 } } })
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toBuffer();
}

test('a colour page is RGB by default and one grey channel when asked, same size, paper light and ink dark', async (t) => {
  const input = await yellowedPage();
  const rgb = await readPageImage(input);
  const grey = await readPageImage(input, { grey: true });
  const rgbMeta = await sharp(rgb.png).metadata();
  const greyMeta = await sharp(grey.png).metadata();
  t.is(rgbMeta.channels, 3);
  t.is(greyMeta.channels, 1);
  t.is(greyMeta.format, 'png');
  t.deepEqual([grey.width, grey.height], [300, 120]);
  t.deepEqual([grey.width, grey.height], [rgb.width, rgb.height]);
  t.true(grey.png.length < rgb.png.length, `grey ${grey.png.length} bytes, RGB ${rgb.png.length}`);

  // (sharp widens a grey PNG to RGB on raw output; any one channel is the grey.)
  const { data, info } = await sharp(grey.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => data[y * info.width + x] as number;
  t.true(at(250, 100) > 190, `paper ${at(250, 100)}`);
  t.true(at(100, 60) < 60, `ink ${at(100, 60)}`);
});

test('a transparent page is flattened on white before it turns grey', async (t) => {
  const clear = await sharp({ create: { width: 40, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  const grey = await readPageImage(clear, { grey: true });
  const { data } = await sharp(grey.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  t.true([...data].every((v) => v === 255));
});
