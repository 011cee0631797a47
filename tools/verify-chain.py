#!/usr/bin/env python3
"""Checks a thukho event-log export without thukho's code (the format: docs/hash-chain.md).

    python3 tools/verify-chain.py EXPORT.jsonl [SEAL-FILE.json]

EXPORT.jsonl comes from `thukho export-log`; SEAL-FILE.json, optional, is a seal copied to a
replica root (thukho-seals/seal-<position>.json). Recomputes every event's hash, the prevHash
links from each stream's genesis, revisions 0, 1, 2... without gaps, and the Merkle root of the
stream heads at the position of the export's latest seal (and of SEAL-FILE). Exit 0 when all
holds, 1 naming the first thing that does not. Python 3 standard library only.
"""
import hashlib
import json
import sys

EVENT_KEYS = {'streamId', 'revision', 'position', 'id', 'type', 'data', 'metadata'}
SURROGATES = {c: '\\u%04x' % c for c in range(0xD800, 0xE000)}


def js_string(s):
    # json.dumps escapes exactly what JSON.stringify escapes, except lone surrogates.
    return json.dumps(s, ensure_ascii=False).translate(SURROGATES)


def js_number(x):
    """A number as JavaScript's JSON.stringify writes it (ECMAScript Number::toString)."""
    if isinstance(x, int) and abs(x) <= 2 ** 53:
        return str(x)
    try:
        x = float(x)
    except OverflowError:
        return 'null'
    if x != x or x in (float('inf'), float('-inf')):
        return 'null'
    if x == 0:
        return '0'
    mantissa, _, exp = repr(abs(x)).partition('e')
    whole, _, frac = mantissa.partition('.')
    digits = (whole + frac).lstrip('0')
    n = len(whole) + int(exp or 0) - (len(whole + frac) - len(digits))  # value = 0.digits * 10**n
    digits = digits.rstrip('0')
    k = len(digits)
    sign = '-' if x < 0 else ''
    if k <= n <= 21:
        return sign + digits + '0' * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + '.' + digits[n:]
    if -6 < n <= 0:
        return sign + '0.' + '0' * -n + digits
    e = n - 1
    return sign + digits[0] + ('.' + digits[1:] if k > 1 else '') + 'e' + ('+' if e >= 0 else '-') + str(abs(e))


def canonical(v):
    if v is None or v is True or v is False:
        return json.dumps(v)
    if isinstance(v, (int, float)):
        return js_number(v)
    if isinstance(v, str):
        return js_string(v)
    if isinstance(v, list):
        return '[' + ','.join(canonical(x) for x in v) + ']'
    if '__proto__' in v:
        raise ValueError('a key named "__proto__" is not allowed in the format')
    keys = sorted(v, key=lambda k: k.encode('utf-16-be', 'surrogatepass'))  # UTF-16 code-unit order
    return '{' + ','.join(js_string(k) + ':' + canonical(v[k]) for k in keys) + '}'


def sha256(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def event_hash(e):
    unhashed = {k: v for k, v in e['metadata'].items() if k != 'hash'}
    return sha256('{"data":%s,"metadata":%s,"type":%s}' % (canonical(e['data']), canonical(unhashed), js_string(e['type'])))


def merkle_root(heads):
    level = [hashlib.sha256(('%s\n%s\n%d' % (s, h, r)).encode('utf-8')).digest()
             for s, (r, h) in sorted(heads.items(), key=lambda i: i[0].encode('utf-16-be', 'surrogatepass'))]
    if not level:
        return hashlib.sha256(b'').hexdigest()
    while len(level) > 1:
        pairs = [hashlib.sha256(b'\x01' + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = pairs + level[len(level) - 1:] if len(level) % 2 else pairs
    return level[0].hex()


def fail(message):
    print('BROKEN: ' + message)
    sys.exit(1)


def main(args):
    if len(args) not in (1, 2):
        print(__doc__.strip().splitlines()[2].strip())
        sys.exit(2)
    replica = json.load(open(args[1], encoding='utf-8')) if len(args) == 2 else None
    lines = (line for line in open(args[0], encoding='utf-8') if line.strip())  # streamed: logs can be large
    try:
        header = json.loads(next(lines, '{}'))
    except ValueError:
        header = {}
    if header.get('format') != 'thukho-log/1':
        fail('line 1: not a thukho-log/1 export')
    seals = [s for s in (header.get('seal'), replica) if s]
    heads, heads_at, chains, last_position, events, end, seal_event = {}, {}, {}, -1, 0, None, None
    for number, line in enumerate(lines, start=2):
        try:
            e = json.loads(line)
        except ValueError as err:
            fail('line %d: not JSON (%s)' % (number, err))
        if end is not None or not isinstance(e, dict) or not ('end' in e or EVENT_KEYS <= e.keys()):
            fail('line %d: neither an event nor the end line, or after the end line' % number)
        if 'end' in e:
            end = e['end']
            continue
        where = 'line %d: %s @ revision %s (event %s)' % (number, e['streamId'], e['revision'], e['metadata'].get('eventId'))
        position = int(e['position'])
        if position <= last_position:
            fail('%s: position %d does not follow %d' % (where, position, last_position))
        for s in seals:  # the heads as of a sealed position: taken when the log passes it
            if int(s['position']) < position and int(s['position']) not in heads_at:
                heads_at[int(s['position'])] = dict(heads)
        revision, prev = chains.get(e['streamId'], (-1, sha256('thukho-stream:' + e['streamId'])))
        if e['revision'] != revision + 1:
            fail('%s: revision %d was expected (revisions count 0, 1, 2... without gaps)' % (where, revision + 1))
        if e['metadata'].get('prevHash') != prev:
            fail('%s: prevHash does not match the previous event\'s hash%s' % (where, ' (genesis)' if revision < 0 else ''))
        try:
            recomputed = event_hash(e)
        except ValueError as err:
            fail('%s: %s' % (where, err))
        if recomputed != e['metadata'].get('hash'):
            fail('%s: content does not match its hash (event was altered)' % where)
        chains[e['streamId']] = (e['revision'], recomputed)
        if e['streamId'] != 'seal':
            heads[e['streamId']] = (e['revision'], recomputed)
        elif header.get('seal') and e['id'] == header['seal']['eventId']:
            seal_event = e
        last_position, events = position, events + 1
    if end is None:
        fail('the export ends without its end line (incomplete file?)')
    if end != {'events': events, 'streams': len(chains)}:
        fail('the end line says %s, the file holds %d events in %d streams' % (json.dumps(end), events, len(chains)))
    print('OK: %d events in %d streams, every hash chain intact' % (events, len(chains)))
    for s in seals:
        at = heads_at.get(int(s['position']), heads)
        root = merkle_root(at)
        name = 'seal at position %s' % s['position']
        if s is replica:
            for h in s['heads']:
                if at.get(h['streamId']) != (int(h['revision']), h['hash']):
                    fail('%s (%s): stream %s was sealed at revision %s, the log has %s there' % (name, args[1], h['streamId'], h['revision'], at.get(h['streamId'])))
        elif not seal_event or seal_event['data'].get('merkleRoot') != s['merkleRoot'] or seal_event['data'].get('position') != str(s['position']):
            fail('%s: the export\'s seal line does not match SealCreated event %s in the log' % (name, s['eventId']))
        if root != s['merkleRoot'] or len(at) != s['streams']:
            fail('%s: the heads give Merkle root %s over %d streams, the seal says %s over %d' % (name, root, len(at), s['merkleRoot'], s['streams']))
        print('OK: %s matches, Merkle root %s over %d streams' % (name, root, len(at)))


if __name__ == '__main__':
    main(sys.argv[1:])
