import test from 'ava';
import { hashPassword, verifyPassword } from '../../src/application/passwords.ts';
import { safeReturn } from '../../src/http/routes/sign-in.ts';

test('a password is stored as an argon2id PHC string with our costs, and verifies; another does not', async (t) => {
  const phc = await hashPassword('Hà Nội mùa thu năm ấy');
  t.regex(phc, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  t.false(phc.includes('Hà Nội'));
  t.true(await verifyPassword(phc, 'Hà Nội mùa thu năm ấy'));
  t.false(await verifyPassword(phc, 'Ha Noi mua thu nam ay'));
  t.not(await hashPassword('Hà Nội mùa thu năm ấy'), phc, 'a new salt each time');
});

test('Vietnamese typed precomposed or with combining marks is the same password', async (t) => {
  const phc = await hashPassword('Thư khố tỉnh nhà'.normalize('NFC'));
  t.true(await verifyPassword(phc, 'Thư khố tỉnh nhà'.normalize('NFD')));
});

test('no account (undefined hash): false, after a real check; too short a password is refused with a reason', async (t) => {
  t.false(await verifyPassword(undefined, 'anything at all'));
  await t.throwsAsync(() => hashPassword('ngắn'), { message: /10 to 1000 characters/ });
});

test('safeReturn: only paths on this site', (t) => {
  const cases: Array<[string | undefined, string]> = [
    ['/objects/abc?lang=en', '/objects/abc?lang=en'],
    ['/search?q=truy%E1%BB%87n', '/search?q=truy%E1%BB%87n'],
    [undefined, '/'],
    ['', '/'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['javascript:alert(1)', '/'],
    ['/a\r\nSet-Cookie: x=1', '/'],
    ['/sign-in', '/'],
    ['/sign-out?x=1', '/'],
    ['/sign-inside', '/sign-inside'],
  ];
  for (const [raw, want] of cases) t.is(safeReturn(raw), want, String(raw));
});
