import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const eslintBin = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface LintMessage {
  readonly ruleId: string | null;
  readonly severity: number;
  readonly line: number;
  readonly message: string;
}
interface LintResult {
  readonly filePath: string;
  readonly messages: readonly LintMessage[];
}

// ESLint's flat config is an ES module, which jest's module system cannot load: lint in a child process.
function lint(args: readonly string[], input?: string): LintResult[] {
  const run = spawnSync(process.execPath, [eslintBin, '--format', 'json', ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0 && run.status !== 1) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as LintResult[];
}

async function importFindings(file: string, source: string): Promise<string[]> {
  const [result] = lint(['--stdin', '--stdin-filename', join(root, file)], source);
  return result.messages
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('Dependencies point one way', () => {
  it('refuses a use case that imports an outbound adapter', async () => {
    const findings = await importFindings(
      'lambdas/app/example.ts',
      "import { DynamoRequestsStore } from '../adapters/requests-store';\nexport const store = DynamoRequestsStore;\n",
    );

    expect(findings).toEqual([expect.stringContaining('Use cases depend on ports they own')]);
  });

  it('refuses a use case that imports the entry side', async () => {
    const findings = await importFindings(
      'lambdas/app/example.ts',
      "import { handler } from '../handlers/execute';\nexport const run = handler;\n",
    );

    expect(findings).toHaveLength(1);
  });

  it('refuses a core module that imports a use case, an adapter or I/O', async () => {
    const findings = await importFindings(
      'lambdas/core/example.ts',
      [
        "import { executeApproved } from '../app/execute';",
        "import { logger } from '../adapters/logger';",
        "import { readFileSync } from 'node:fs';",
        'export const all = [executeApproved, logger, readFileSync];',
      ].join('\n'),
    );

    expect(findings).toHaveLength(3);
  });

  it('refuses an outbound adapter that calls a use case', async () => {
    const findings = await importFindings(
      'lambdas/adapters/example.ts',
      "import { castBallot } from '../app/ballot';\nexport const vote = castBallot;\n",
    );

    expect(findings).toEqual([expect.stringContaining('Outbound adapters implement ports')]);
  });

  it('lets an outbound adapter take the ports and errors it implements', async () => {
    const findings = await importFindings(
      'lambdas/adapters/example.ts',
      [
        "import type { RequestsStore } from '../app/ports';",
        "import { ConflictError } from '../app/errors';",
        'export type Store = RequestsStore;',
        'export const conflict = ConflictError;',
      ].join('\n'),
    );

    expect(findings).toEqual([]);
  });

  it('finds no lint error anywhere in the tree', async () => {
    const results = lint(['.']);

    const errors = results.flatMap((result) =>
      result.messages
        .filter((message) => message.severity === 2)
        .map(
          (message) =>
            `${result.filePath.slice(root.length + 1)}:${message.line} ${message.ruleId}: ${message.message}`,
        ),
    );
    expect(errors).toEqual([]);
  });
});
