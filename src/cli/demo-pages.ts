import sharp from 'sharp';

/**
 * Scan-like pages for the demo collection, rendered here so that nothing is downloaded:
 * aged-paper background, a printed title, body lines in Quốc ngữ and a folio number.
 * (Han-Nôm glyphs need a CJK font the machine may lack, so the pages carry Latin script.)
 */
const LINES = [
  'Trăm năm trong cõi người ta,',
  'Chữ tài chữ mệnh khéo là ghét nhau.',
  'Trải qua một cuộc bể dâu,',
  'Những điều trông thấy mà đau đớn lòng.',
  'Lạ gì bỉ sắc tư phong,',
  'Trời xanh quen thói má hồng đánh ghen.',
];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function renderDemoPage(title: string, folio: number): Promise<Buffer> {
  const width = 1240;
  const height = 1754;
  const body = LINES.map(
    (line, i) => `<text x="140" y="${520 + i * 100}" font-family="DejaVu Serif" font-size="44" fill="#2b2118">${escape(line)}</text>`,
  ).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect x="70" y="70" width="${width - 140}" height="${height - 140}" fill="none" stroke="#8a6d4a" stroke-width="6"/>
    <text x="${width / 2}" y="300" text-anchor="middle" font-family="DejaVu Serif" font-size="72" font-weight="bold" fill="#3a2a1a">${escape(title)}</text>
    ${body}
    <text x="${width / 2}" y="${height - 140}" text-anchor="middle" font-family="DejaVu Serif" font-size="44" fill="#5a4632">— ${folio} —</text>
  </svg>`;
  return sharp({ create: { width, height, channels: 3, background: { r: 233, g: 220, b: 190 } } })
    .composite([{ input: Buffer.from(svg) }])
    .withMetadata({ density: 300 })
    .tiff({ compression: 'jpeg', quality: 88 })
    .toBuffer();
}
