import { join } from 'node:path';
import test from 'ava';
import { ROOT } from '../helpers/cli.ts';
import { missingTools, sh, tail } from './target.ts';

/**
 * The quality bar of issue 17 for every playbook and role: ansible-lint's `production` profile
 * over the whole ansible/ tree, and `--syntax-check` of each playbook with each inventory.
 */
const ANSIBLE = join(ROOT, 'ansible');
const env = { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' };

test('ansible-lint --profile production passes on every playbook and role', async (t) => {
  t.timeout(20 * 60_000, 'a hang guard; ansible-lint is slow on a busy machine');
  const missing = await missingTools();
  t.deepEqual(missing, [], `needs: ${missing.join(', ')}`);
  const lint = await sh('ansible-lint', ['--offline', '--profile', 'production', '-p'], { cwd: ANSIBLE, env });
  t.is(lint.code, 0, tail(lint, 80));
});

for (const inventory of ['single', 'cluster']) {
  for (const playbook of ['site.yml', 'restore.yml']) {
    test(`ansible-playbook --syntax-check ${playbook} with inventories/${inventory}`, async (t) => {
      const r = await sh('ansible-playbook', ['--syntax-check', '-i', `inventories/${inventory}`, playbook], { cwd: ANSIBLE, env });
      t.is(r.code, 0, tail(r));
      t.regex(r.stdout, new RegExp(`playbook: ${playbook.replace('.', '\\.')}`));
    });
  }
}
