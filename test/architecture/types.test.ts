import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

// The console's page script is bundled by esbuild, which strips types without checking them; ts-jest
// checks only what the tests import. Its own project (DOM lib) is checked here, so npm test does.
test('the console page script type-checks against the view types it shares with the server', () => {
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '-p',
      join(root, 'local', 'console', 'client'),
    ],
    { cwd: root, encoding: 'utf8' },
  );

  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
});
