import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ALTO_NS, writeAlto } from '../../src/ocr/alto.ts';
import { writeHocr } from '../../src/ocr/hocr.ts';
import { pageText } from '../../src/ocr/line-text.ts';
import type { EngineInfo, OcrPage } from '../../src/ocr/port.ts';
import { findAll, parseXml } from '../helpers/xml.ts';

/**
 * ALTO 4 and hOCR of one fixed page against hand-written documents (tests/golden/ocr): a
 * Vietnamese block (NFD input written NFC, markup characters escaped, a control character
 * dropped, SP between words) and a vertical Han column (a Nôm character outside the BMP, no SP
 * between characters, a confidence over 100 clamped). Both parsed back by a strict XML checker
 * and, when installed, by xmllint.
 */
const engine: EngineInfo = { name: 'tesseract.js', version: '7.0.0', models: [] };
const XHTML = 'http://www.w3.org/1999/xhtml';
const source = { engine, imageName: 'trang & 1.png' };

const PAGE: OcrPage = {
  width: 1000,
  height: 600,
  blocks: [
    {
      x: 50, y: 40, w: 900, h: 120,
      lines: [
        {
          x: 50, y: 40, w: 900, h: 50,
          words: [
            { x: 50, y: 40, w: 150, h: 50, text: 'Tra\u0306m', confidence: 96.4 },
            { x: 220, y: 42, w: 200, h: 48, text: 'a<b&"c\'', confidence: 71.456 },
          ],
        },
        { x: 50, y: 110, w: 500, h: 50, words: [{ x: 50, y: 110, w: 200, h: 50, text: 'Nguyễn\u0007', confidence: 88 }] },
      ],
    },
    {
      x: 800, y: 200, w: 60, h: 180,
      lines: [
        {
          x: 800, y: 200, w: 60, h: 180,
          words: [
            { x: 800, y: 200, w: 60, h: 60, text: '𡨸', confidence: 90 },
            { x: 800, y: 260, w: 59.6, h: 60, text: '喃', confidence: 85.6 },
            { x: 800.4, y: 320, w: 60, h: 60, text: '字', confidence: 100.4 },
          ],
        },
      ],
    },
  ],
};

const golden = (name: string) => readFileSync(new URL(`../golden/ocr/${name}`, import.meta.url), 'utf8');

function xmllint(xml: string): string | undefined {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return execFileSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8' });
}

test('ALTO 4 of a fixed page is the hand-written document', (t) => {
  t.is(writeAlto(PAGE, source), golden('page.alto.xml'));
});

test('hOCR of a fixed page is the hand-written document', (t) => {
  t.is(writeHocr(PAGE, source), golden('page.hocr.xhtml'));
});

test('ALTO parses back: namespace, strings in order with their content and SP only between Latin words', (t) => {
  const root = parseXml(writeAlto(PAGE, source));
  t.is(root.namespace, ALTO_NS);
  const strings = findAll(root, ALTO_NS, 'String');
  t.deepEqual(strings.map((s) => s.attributes.CONTENT), ['Trăm', 'a<b&"c\'', 'Nguyễn', '𡨸', '喃', '字']);
  const lines = findAll(root, ALTO_NS, 'TextLine');
  t.deepEqual(lines.map((l) => l.children.map((c) => c.localName).join(' ')), ['String SP String', 'String', 'String String String']);
  if (xmllint(writeAlto(PAGE, source)) === undefined) t.log('xmllint is not installed: checked by the strict parser only');
});

test('hOCR parses back as XHTML with the words and bbox of each', (t) => {
  const root = parseXml(writeHocr(PAGE, source));
  t.is(root.namespace, XHTML);
  const words = findAll(root, XHTML, 'span').filter((e) => e.attributes.class === 'ocrx_word');
  t.deepEqual(words.map((w) => w.text), ['Trăm', 'a<b&"c\'', 'Nguyễn', '𡨸', '喃', '字']);
  t.is(words[0]?.attributes.title, 'bbox 50 40 200 90; x_wconf 96');
  if (xmllint(writeHocr(PAGE, source)) === undefined) t.log('xmllint is not installed: checked by the strict parser only');
});

test('plain text: a line per line, a blank line between blocks, no spaces between Han characters', (t) => {
  t.is(pageText(PAGE), 'Tra\u0306m a<b&"c\'\nNguyễn\u0007\n\n𡨸喃字');
});

test('an empty page is a valid document with no text', (t) => {
  const empty: OcrPage = { width: 20, height: 30, blocks: [] };
  t.is(findAll(parseXml(writeAlto(empty, source)), ALTO_NS, 'String').length, 0);
  t.is(findAll(parseXml(writeHocr(empty, source)), XHTML, 'span').length, 0);
  t.is(pageText(empty), '');
});
