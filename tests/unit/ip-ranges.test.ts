import test from 'ava';
import { loadConfig } from '../../src/config.ts';
import { ipRangeMatcher, parseIpRanges } from '../../src/http/ip-ranges.ts';

/** The reading room's IP ranges: parsing, matching (IPv4, IPv6, IPv4-mapped IPv6), and start-up refusals. */
const room = ipRangeMatcher(parseIpRanges(' 10.20.0.0/16 , 192.168.1.7, 2001:db8:a::/48'));

const CASES: Array<[string, boolean]> = [
  ['10.20.0.1', true],
  ['10.20.255.254', true],
  ['10.21.0.1', false],
  ['10.19.255.255', false],
  ['192.168.1.7', true],
  ['192.168.1.8', false],
  // What a dual-stack socket reports for an IPv4 client.
  ['::ffff:10.20.3.4', true],
  ['::ffff:10.21.3.4', false],
  ['::ffff:192.168.1.7', true],
  ['2001:db8:a::1', true],
  ['2001:db8:a:ffff:ffff:ffff:ffff:ffff', true],
  ['2001:db8:b::1', false],
  ['::1', false],
  ['127.0.0.1', false],
  ['', false],
  ['not-an-ip', false],
];

for (const [ip, expected] of CASES) {
  test(`reading room ${expected ? 'contains' : 'does not contain'} "${ip}"`, (t) => {
    t.is(room(ip), expected);
  });
}

test('no ranges: nobody is in the reading room', (t) => {
  const none = ipRangeMatcher(parseIpRanges(''));
  t.false(none('10.0.0.1'));
  t.false(none('::ffff:127.0.0.1'));
});

test('/0 covers every address of its family only', (t) => {
  const all4 = ipRangeMatcher(parseIpRanges('0.0.0.0/0'));
  t.true(all4('203.0.113.9'));
  t.false(all4('2001:db8::1'));
});

test('THUKHO_READING_ROOM_CIDRS: parsed at start; a bad value stops start-up with a message naming it', (t) => {
  t.deepEqual(loadConfig({ THUKHO_READING_ROOM_CIDRS: '10.0.0.0/8,2001:db8::/32' }).readingRoom, [
    { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
    { address: '2001:db8::', prefix: 32, family: 'ipv6' },
  ]);
  t.deepEqual(loadConfig({}).readingRoom, []);
  for (const [bad, why] of [
    ['10.0.0.0/33', /at most \/32/],
    ['2001:db8::/129', /at most \/128/],
    ['10.0.0.256/24', /not an IPv4 or IPv6 address/],
    ['phong-doc', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/8; 10.1.0.0/16', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/-1', /not an IPv4 or IPv6 address/],
  ] as const) {
    const err = t.throws(() => loadConfig({ THUKHO_READING_ROOM_CIDRS: bad }), undefined, bad);
    t.regex(err?.message ?? '', /^THUKHO_READING_ROOM_CIDRS: /, bad);
    t.regex(err?.message ?? '', why, bad);
  }
});
