import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.ts';

/**
 * docs/runbook.vi.md and docs/runbook.en.md (issue 17): the same runbook in two languages, both
 * complete, and in step with what the code reports (/health's checks) and runs.
 */
const runbooks = {
  vi: readFileSync(join(ROOT, 'docs', 'runbook.vi.md'), 'utf8'),
  en: readFileSync(join(ROOT, 'docs', 'runbook.en.md'), 'utf8'),
};

const headings = (md: string) => md.split('\n').filter((l) => /^#{2,3} /.test(l));
const fences = (md: string) => md.split('\n').filter((l) => l.trimStart().startsWith('```')).length;
/** Shell commands in code blocks: identical in both languages except for comments. */
const commands = (md: string) =>
  [...md.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );

test('both languages have the same sections, code blocks and table rows', (t) => {
  t.is(headings(runbooks.vi).length, headings(runbooks.en).length, 'sections');
  t.is(fences(runbooks.vi), fences(runbooks.en), 'code blocks');
  const rows = (md: string) => md.split('\n').filter((l) => l.startsWith('|')).length;
  t.is(rows(runbooks.vi), rows(runbooks.en), 'table rows');
  t.true(runbooks.vi.includes('(runbook.en.md)'));
  t.true(runbooks.en.includes('(runbook.vi.md)'));
  // The commands are the same, bar the placeholders the Vietnamese text spells in Vietnamese.
  const norm = (l: string) => l.replace(/PHIÊN_BẢN|VERSION/g, 'V').replace(/MỚI|NEW/g, 'X').replace(/CŨ|OLD/g, 'Y').replace(/\$MOI|\$NEW/g, '$X').replace(/"Quản trị"/g, 'NAME');
  t.deepEqual(commands(runbooks.vi).map(norm), commands(runbooks.en).map(norm));
});

test('the Vietnamese runbook is written with its diacritics', (t) => {
  for (const word of ['Cài đặt', 'Nâng cấp', 'Đổi bí mật', 'Sao lưu và khôi phục', 'Thêm đĩa bản sao', 'Nhật ký', 'Báo động']) {
    t.true(runbooks.vi.includes(word), word);
  }
  t.false(/\b(Cai dat|Nang cap|Sao luu|khoi phuc)\b/.test(runbooks.vi), 'no text stripped of its diacritics');
});

test('each runbook covers install, upgrade, secrets, replica disk, backup and restore, /health, logs, alerts', (t) => {
  for (const [lang, md] of Object.entries(runbooks)) {
    for (const needle of [
      'ansible-playbook -i ansible/inventories/single ansible/site.yml',
      'ops/make-release',
      'ops/offline-debs',
      'thukho_bundle_file',
      '/usr/local/bin/thukho',
      '10-paths.conf',
      'restore_from=',
      'cp /opt/thukho/current/ops/systemd/* /etc/systemd/system/',
      '/opt/thukho/current',
      'systemctl restart thukho.target',
      'session-secret',
      'requirepass',
      'api-key',
      'change-password',
      'thukho users rotate',
      'thukho replicas init',
      'THUKHO_REPLICAS=',
      'ReadWritePaths=',
      '/etc/fstab',
      'thukho verify',
      'ops/restore',
      'ops/backup',
      'restore.yml',
      '/etc/thukho/backup.env',
      'journalctl -u thukho-api',
      'thukho-alert',
      'THUKHO_WEBHOOK_URL',
    ]) {
      t.true(md.includes(needle), `runbook.${lang}.md mentions ${needle}`);
    }
  }
});

test("the /health section explains every check /health reports", (t) => {
  const source = readFileSync(join(ROOT, 'src', 'http', 'routes', 'health.ts'), 'utf8');
  const checks = [...source.matchAll(/name: '([A-Za-z]+)'/g)].map((m) => m[1]!);
  t.true(checks.length >= 8);
  for (const [lang, md] of Object.entries(runbooks)) {
    const section = md.slice(md.indexOf('## 7.'), md.indexOf('## 8.'));
    for (const check of checks) t.true(section.includes(`\`${check}\``), `runbook.${lang}.md, section 7: ${check}`);
  }
});
