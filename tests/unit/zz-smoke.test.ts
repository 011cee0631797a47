import test from 'ava';
import { startTestServer } from '../../tests/helpers/server.ts';
import { staffCall, uploadFile } from '../../tests/helpers/api.ts';
import { page } from '../../tests/helpers/images.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
test('smoke', async (t) => {
  const s = await startTestServer({ THUKHO_OCR: 'off' });
  const id = (await staffCall(s, 'POST', '/api/objects', { title: 'Sách thử', accessLevel: 'open' })).id as string;
  await uploadFile(s, id, await page('trang 1'), 'a.tif');
  const t0 = performance.now();
  const r = await fetch(`${s.url}/api/objects/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': '"1"' }, body: JSON.stringify({ title: 'Sách thử 2' }) });
  console.log('patch', r.status, performance.now() - t0);
  console.log('describeNow', await s.describeNow());
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  for await (const oid of ocfl.listObjectIds()) { const inv = await ocfl.readInventory(oid); console.log(oid, inv!.head, JSON.stringify(inv!.versions[inv!.head]!.state).slice(0, 400), inv!.versions[inv!.head]!.user); }
  console.log(await validateStorageRoot(s.config.ocflRoot));
  await s.close(); t.pass();
});
