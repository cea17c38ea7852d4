import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_RECORD_TYPES } from '../../lambdas/core/audit';
import { FINDING_MEANING } from '../../lambdas/compliance/types';

const compliance = readFileSync(join(__dirname, '..', '..', 'docs', 'COMPLIANCE.md'), 'utf8');

/** The first cell of each body row of the Markdown table whose header starts with `| <first> `. */
function firstColumn(first: string): string[] {
  const lines = compliance.split('\n');
  const header = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line));
  const rows: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|')[1].trim());
  }
  return rows;
}

describe('docs/COMPLIANCE.md', () => {
  it('lists exactly the record types the code writes, in the same order', () => {
    expect(firstColumn('type')).toEqual(AUDIT_RECORD_TYPES.map((type) => `\`${type}\``));
  });

  it('lists every finding kind with the meaning audit verify --help prints', () => {
    expect(firstColumn('finding')).toEqual(Object.keys(FINDING_MEANING).map((kind) => `\`${kind}\``));
    for (const [kind, meaning] of Object.entries(FINDING_MEANING)) {
      const row = compliance.split('\n').find((line) => line.startsWith(`| \`${kind}\``));
      expect(row?.replace(/\s+/g, ' ')).toContain(meaning);
    }
  });

  it('documents the internal-error exit code', () => {
    expect(compliance).toContain('`70` an');
    expect(compliance).toContain('action-approvals: internal error: <message>');
  });

  it('states the exports bucket as deployed: its own bucket, no Object Lock, exports expire', () => {
    expect(compliance).toMatch(/separate exports bucket/);
    expect(compliance).toMatch(/no Object Lock/);
    expect(compliance).toMatch(/expires each export after the export retention/);
  });
});
