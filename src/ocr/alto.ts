import { escapeXml } from '../formats/xml.js';
import { spaceBetween } from './line-text.js';
import type { Box, EngineInfo, OcrPage, OcrWord } from './port.js';

/**
 * ALTO 4 (https://www.loc.gov/standards/alto/) for one page. Coordinates are in pixels
 * (MeasurementUnit "pixel") of the page the OcrPage describes; the caller scales the page to
 * the full-resolution canvas first. Word confidence WC is 0-1 in ALTO (tesseract's 0-100 / 100).
 * SP marks a space between two words of a line, as ALTO asks, and is left out between Han
 * characters, which are written without spaces.
 */
export const ALTO_NS = 'http://www.loc.gov/standards/alto/ns-v4#';
const ALTO_XSD = 'http://www.loc.gov/alto/v4/alto-4-4.xsd';

export interface OcrDocumentSource {
  engine: EngineInfo;
  /** The page image the text was read from, as stored (a file name, not a path). */
  imageName: string;
}

function position(b: Box): string {
  return `HPOS="${Math.round(b.x)}" VPOS="${Math.round(b.y)}" WIDTH="${Math.round(b.w)}" HEIGHT="${Math.round(b.h)}"`;
}

function wordConfidence(w: OcrWord): string {
  return (Math.min(100, Math.max(0, w.confidence)) / 100).toFixed(2);
}

export function writeAlto(page: OcrPage, source: OcrDocumentSource): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<alto xmlns="${ALTO_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${ALTO_NS} ${ALTO_XSD}">`,
    '  <Description>',
    '    <MeasurementUnit>pixel</MeasurementUnit>',
    '    <sourceImageInformation>',
    `      <fileName>${escapeXml(source.imageName)}</fileName>`,
    '    </sourceImageInformation>',
    '    <OCRProcessing ID="ocr1">',
    '      <ocrProcessingStep>',
    '        <processingSoftware>',
    `          <softwareName>${escapeXml(source.engine.name)}</softwareName>`,
    `          <softwareVersion>${escapeXml(source.engine.version)}</softwareVersion>`,
    '        </processingSoftware>',
    '      </ocrProcessingStep>',
    '    </OCRProcessing>',
    '  </Description>',
    '  <Layout>',
    `    <Page ID="p1" PHYSICAL_IMG_NR="1" WIDTH="${Math.round(page.width)}" HEIGHT="${Math.round(page.height)}">`,
    `      <PrintSpace ${position({ x: 0, y: 0, w: page.width, h: page.height })}>`,
  ];
  page.blocks.forEach((block, b) => {
    out.push(`        <TextBlock ID="b${b + 1}" ${position(block)}>`);
    block.lines.forEach((line, l) => {
      out.push(`          <TextLine ID="b${b + 1}_l${l + 1}" ${position(line)}>`);
      line.words.forEach((word, w) => {
        const previous = line.words[w - 1];
        if (previous && spaceBetween(previous, word)) out.push('            <SP/>');
        out.push(`            <String ID="b${b + 1}_l${l + 1}_w${w + 1}" ${position(word)} CONTENT="${escapeXml(word.text)}" WC="${wordConfidence(word)}"/>`);
      });
      out.push('          </TextLine>');
    });
    out.push('        </TextBlock>');
  });
  out.push('      </PrintSpace>', '    </Page>', '  </Layout>', '</alto>', '');
  return out.join('\n');
}
