import test from 'ava';
import { redactPaths } from '../../src/storage/redact-paths.ts';

/** What a reason recorded in the log keeps of the paths in an error message. */
const cases: Array<[string, string]> = [
  [
    '/tmp/thukho-e2e-Ab12/derivatives/.tmp/bbbb-f8ac/tiles.zip: write error\nsystem error: No space left on device',
    '…/tiles.zip: write error\nsystem error: No space left on device',
  ],
  ["ENOSPC: no space left on device, mkdir '/srv/thukho/data/derivatives/.tmp/aaaa-1'", "ENOSPC: no space left on device, mkdir '…/aaaa-1'"],
  ['Input file is missing: /srv/thukho/ocfl/0a1/b2c/o1/v1/content/p1/trang 1.tif', 'Input file is missing: …/trang 1.tif'],
  ['staging=/data/staging/41234-9fa1/.staging-5e0c', 'staging=…/.staging-5e0c'],
  ['(file:///var/lib/thukho/events.sqlite)', '(…/events.sqlite)'],
  ['/data/staging/41234-9fa1/', '…/'],
  // Not paths: kept as they are.
  ['sharp cannot decode the master: VipsJpeg: premature end of JPEG file', 'sharp cannot decode the master: VipsJpeg: premature end of JPEG file'],
  ['see https://iiif.io/api/image/3.0/ and 0,0,256,256/256,/0/default.jpg', 'see https://iiif.io/api/image/3.0/ and 0,0,256,256/256,/0/default.jpg'],
  ['km/h and 3/4 and /root-only', 'km/h and 3/4 and /root-only'],
  ['Tệp "Trang/1" bị hỏng', 'Tệp "Trang/1" bị hỏng'],
];

for (const [input, expected] of cases) {
  test(`redactPaths(${JSON.stringify(input.slice(0, 60))})`, (t) => {
    t.is(redactPaths(input), expected);
  });
}
