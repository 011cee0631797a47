import { escapeXml } from '../formats/xml.js';
import type { OcrDocumentSource } from './alto.js';
import { spaceBetween } from './line-text.js';
import type { Box, OcrPage } from './port.js';

/**
 * hOCR 1.2 (http://kba.github.io/hocr-spec/1.2/) for one page, written as XHTML so that an XML
 * parser reads it too. bbox is "x0 y0 x1 y1" in pixels of the page; x_wconf is 0-100. Words of
 * a line are separated by a space in the text, except between Han characters.
 */
function bbox(b: Box): string {
  return `bbox ${Math.round(b.x)} ${Math.round(b.y)} ${Math.round(b.x + b.w)} ${Math.round(b.y + b.h)}`;
}

export function writeHocr(page: OcrPage, source: OcrDocumentSource): string {
  const system = `${source.engine.name} ${source.engine.version}`;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<html xmlns="http://www.w3.org/1999/xhtml">',
    '  <head>',
    `    <title>${escapeXml(source.imageName)}</title>`,
    '    <meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>',
    `    <meta name="ocr-system" content="${escapeXml(system)}"/>`,
    '    <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_line ocrx_word"/>',
    '  </head>',
    '  <body>',
    `    <div class="ocr_page" id="page_1" title="image ${escapeXml(JSON.stringify(source.imageName))}; ${bbox({ x: 0, y: 0, w: page.width, h: page.height })}">`,
  ];
  page.blocks.forEach((block, b) => {
    out.push(`      <div class="ocr_carea" id="block_${b + 1}" title="${bbox(block)}">`);
    block.lines.forEach((line, l) => {
      const id = `${b + 1}_${l + 1}`;
      const words = line.words.map((word, w) => {
        const previous = line.words[w - 1];
        const space = previous && spaceBetween(previous, word) ? ' ' : '';
        const confidence = Math.round(Math.min(100, Math.max(0, word.confidence)));
        return `${space}<span class="ocrx_word" id="word_${id}_${w + 1}" title="${bbox(word)}; x_wconf ${confidence}">${escapeXml(word.text)}</span>`;
      });
      out.push(`        <span class="ocr_line" id="line_${id}" title="${bbox(line)}">${words.join('')}</span>`);
    });
    out.push('      </div>');
  });
  out.push('    </div>', '  </body>', '</html>', '');
  return out.join('\n');
}
