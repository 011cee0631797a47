import { join } from 'node:path';
import test from 'ava';
import { ANSIBLE_DIR, requireBinary, run, tail } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The quality bar of issue 17 for every playbook and role: ansible-lint's `production` profile
 * over the whole ansible/ tree, and `--syntax-check` of each playbook with each inventory.
 */
const env = { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg') };

test('ansible-lint --profile production passes on every playbook and role', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000), 'a hang guard; ansible-lint is slow on a busy machine');
  requireBinary('ansible-lint', 'apt-get install -y ansible-lint');
  const lint = await run('ansible-lint', ['--offline', '--profile', 'production', '-p'], { env });
  t.is(lint.code, 0, tail(lint, 80));
});

for (const inventory of ['single', 'cluster']) {
  for (const playbook of ['site.yml', 'restore.yml']) {
    test(`ansible-playbook --syntax-check ${playbook} with inventories/${inventory}`, async (t) => {
      requireBinary('ansible-playbook', 'apt-get install -y ansible');
      const r = await run('ansible-playbook', ['--syntax-check', '-i', `inventories/${inventory}`, playbook], { env });
      t.is(r.code, 0, tail(r));
      t.regex(r.stdout, new RegExp(`playbook: ${playbook.replace('.', '\\.')}`));
    });
  }
}
