import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../bin/cli';
import { CSV_COLUMNS } from '../../lambdas/compliance/audit-command';
import { FINDING_MEANING } from '../../lambdas/compliance/types';
import type { VerifyReport } from '../../lambdas/compliance/verify';
import type { Fixture } from './fixtures/generator';
import { capturedIo, copyOf, removeTempDirs, smallFixture } from './helpers';

let clean: Fixture;
let forged: Fixture;

beforeAll(async () => {
  clean = await smallFixture();
  forged = await smallFixture({ tamper: 'forged-receipt' });
});

afterAll(removeTempDirs);

describe('Command: action-approvals audit verify', () => {
  it('exits 0 and says OK when nothing is found', async () => {
    const io = capturedIo();

    const code = await main(['audit', 'verify', clean.dir, '--public-key', clean.publicKeyFile], io);

    expect(code).toBe(0);
    expect(io.out()).toContain('OK: every chain is intact');
    expect(io.err()).toBe('');
  });

  it('exits 1 and names the request and record of each finding', async () => {
    const io = capturedIo();

    const code = await main(['audit', 'verify', forged.dir, '--public-key', forged.publicKeyFile], io);

    expect(code).toBe(1);
    expect(io.out()).toContain(
      `receipt-invalid     ${forged.tampered?.requestId} seq ${forged.tampered?.seq}`,
    );
    expect(io.out()).toContain(
      'FAILED: 0 broken chains, 1 execution without a valid receipt, 0 missing or extra records, 0 input errors',
    );
  });

  it('prints the report as JSON with --json', async () => {
    const io = capturedIo();

    const code = await main(
      ['audit', 'verify', forged.dir, '--public-key', forged.publicKeyFile, '--json'],
      io,
    );

    const report = JSON.parse(io.out()) as VerifyReport;
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, requests: forged.requests, counts: { 'receipt-invalid': 1 } });
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'receipt-invalid', requestId: forged.tampered?.requestId }),
    ]);
  });

  it('exits 1 when an input cannot be read, naming the file and line', async () => {
    // Prepare: an archive object that is not gzip
    const copy = copyOf(clean);
    const damaged = copy.path(clean.archiveFiles[0]);
    writeFileSync(damaged, 'not gzip');
    const io = capturedIo();

    // Act
    const code = await main(['audit', 'verify', copy.dir, '--public-key', clean.publicKeyFile], io);

    // Assess
    expect(code).toBe(1);
    expect(io.out()).toContain(
      `input-error         ${damaged}:1: unreadable from this line on (incorrect header check)`,
    );
  });

  it('draws a progress bar on stderr only when stderr is a terminal', async () => {
    const piped = capturedIo();
    const terminal = { ...capturedIo(), stderrIsTerminal: true };

    await main(['audit', 'verify', clean.dir, '--public-key', clean.publicKeyFile], piped);
    await main(['audit', 'verify', clean.dir, '--public-key', clean.publicKeyFile], terminal);

    expect(piped.err()).toBe('');
    expect(terminal.err().startsWith('\r\u001b[Kverify ')).toBe(true);
    expect(terminal.err()).toMatch(/verify [█░]+ \d+% /);
    expect(terminal.out()).toBe(piped.out());
  });

  it('verifies an export given by its manifest-summary.json alone', async () => {
    const io = capturedIo();

    expect(await main(['audit', 'verify', clean.export.summaryFile, '--skip-receipts'], io)).toBe(0);
  });

  it('exits 2 for an input that does not exist', async () => {
    const io = capturedIo();
    const missing = join(clean.dir, 'nothing-here');

    expect(await main(['audit', 'verify', missing, '--skip-receipts'], io)).toBe(2);
    expect(io.err()).toContain(`${missing}: no such file or folder`);
  });

  it.each([
    [['audit', 'verify', '--skip-receipts'], "missing required argument 'inputs'"],
    [['audit', 'verify', 'somewhere'], 'receipts are checked with --public-key FILE or --kms-key-id ID'],
    [
      ['audit', 'verify', 'somewhere', '--skip-receipts', '--public-key', 'key.json'],
      'receipts are checked with',
    ],
    [
      ['audit', 'verify', 'somewhere', '--skip-receipts', '--max-findings', 'lots'],
      '--max-findings must be a positive number',
    ],
    [['audit', 'verify', 'somewhere', '--colour'], "unknown option '--colour'"],
    [['audit', 'explain'], "unknown command 'explain'"],
  ])('exits 2 with a usage error for %j', async (argv, message) => {
    const io = capturedIo();

    const code = await main(argv, io);

    expect(code).toBe(2);
    expect(io.err()).toContain(message);
  });

  it('exits 2 when the public key file is not a key', async () => {
    const io = capturedIo();

    const code = await main(['audit', 'verify', clean.dir, '--public-key', clean.export.summaryFile], io);

    expect(code).toBe(2);
    expect(io.err()).toContain('expected a JWK or a JWK set');
  });
});

describe('Command: action-approvals audit query', () => {
  it('prints a table with a header and a count', async () => {
    const io = capturedIo();

    const code = await main(['audit', 'query', clean.dir, '--outcome', 'denied,expired'], io);

    expect(code).toBe(0);
    const lines = io.out().trim().split('\n');
    expect(lines[0]).toMatch(
      /^REQUESTED AT\s+REQUEST\s+AGENT\s+OPERATION\s+RESOURCE\s+OUTCOME\s+APPROVED BY\s+VOTES$/,
    );
    expect(lines.slice(1, -1).every((line) => / (denied|expired) /.test(line))).toBe(true);
    expect(lines.at(-1)).toBe(`${lines.length - 2} requests`);
  });

  it('prints JSON lines with --format jsonl', async () => {
    const io = capturedIo();

    const code = await main(
      ['audit', 'query', clean.dir, '--agent', 'etl-pipeline', '--format', 'jsonl'],
      io,
    );

    const rows = io
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { agent: string });
    expect(code).toBe(0);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.agent === 'etl-pipeline')).toBe(true);
  });

  it.each([
    [['--outcome', 'approved'], '--outcome must be one of'],
    [['--since', 'yesterday'], '--since must be a date'],
    [['--format', 'xml'], "argument 'xml' is invalid. Allowed choices are table, json, jsonl, csv"],
    [['--decision', 'approve'], '--decision must be one of approved, denied, expired, failed, rejected'],
    [['--since', '2026-11-03', '--until', '2026-11-02'], '--since 2026-11-03 is after --until 2026-11-02'],
    [
      ['--decided-since', '2026-11-03T10:00:00Z', '--decided-until', '2026-11-03T09:00:00Z'],
      '--decided-since 2026-11-03T10:00:00Z is after --decided-until',
    ],
  ])('exits 2 for %j', async (flags, message) => {
    const io = capturedIo();

    expect(await main(['audit', 'query', clean.dir, ...flags], io)).toBe(2);
    expect(io.err()).toContain(message);
  });
});

describe('Command: action-approvals', () => {
  it('lists its commands and exits 2 without one', async () => {
    const io = capturedIo();

    expect(await main([], io)).toBe(2);
    expect(io.err()).toMatch(/audit\s+verify or query the audit trail/);
    expect(io.err()).toMatch(/request \[options\]\s+ask for one action/);
  });

  it('exits 2 for an unknown command', async () => {
    const io = capturedIo();

    expect(await main(['deploy'], io)).toBe(2);
    expect(io.err()).toContain("unknown command 'deploy'");
  });

  it('sets the process exit code when run as a program', async () => {
    const run = promisify(execFile);
    const cli = join(__dirname, '..', '..', 'bin', 'cli.ts');
    const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');

    const failed = await run(tsx, [
      cli,
      'audit',
      'verify',
      forged.dir,
      '--public-key',
      forged.publicKeyFile,
    ]).catch((error: { code: number; stdout: string }) => error);

    expect(failed).toMatchObject({ code: 1, stdout: expect.stringContaining('receipt-invalid') });
  });
});

describe('Command: action-approvals --help at every level', () => {
  it.each([
    [[], ['audit', 'request']],
    [['audit'], ['verify', 'query']],
    [['request'], ['--agent', '--operation', '--resource', '--justification', '--parameters', '--timeout']],
    [
      ['audit', 'query'],
      ['--format', '--decision', '--since', '--until', '--decided-since', '--decided-until'],
    ],
  ])('describes %j', async (command, mentions) => {
    const io = capturedIo();

    const code = await main([...command, '--help'], io);

    expect(code).toBe(0);
    for (const mention of mentions) expect(io.out()).toContain(mention);
  });

  it('lists every option of audit verify and every finding kind with its meaning', async () => {
    const io = capturedIo();

    expect(await main(['audit', 'verify', '--help'], io)).toBe(0);

    for (const option of [
      '--public-key',
      '--kms-key-id',
      '--skip-receipts',
      '--json',
      '--max-findings',
      '--max-open-hours',
      '--threads',
      '--region',
    ])
      expect(io.out()).toContain(option);
    for (const [kind, meaning] of Object.entries(FINDING_MEANING))
      expect(io.out()).toMatch(
        new RegExp(`${kind}\\s+${meaning.slice(0, 30).replace(/[()^$.*+?[\]\\]/g, '\\$&')}`),
      );
    expect(io.out()).toContain('70 internal error');
  });
});

describe('Command: action-approvals audit query, for a compliance person', () => {
  const query = async (...flags: string[]) => {
    const io = capturedIo();
    const code = await main(['audit', 'query', clean.dir, ...flags], io);
    return { code, out: io.out() };
  };

  it('prints CSV with a header and one flat row per request, naming the policy of an auto-approval', async () => {
    const { code, out } = await query('--format', 'csv');

    const [header, ...rows] = out.trimEnd().split('\r\n');
    expect(code).toBe(0);
    expect(header).toBe(CSV_COLUMNS.join(','));
    expect(rows).toHaveLength(clean.requests);
    const approvedBy = CSV_COLUMNS.indexOf('approved_by');
    const cells = rows.map((row) => row.split(','));
    expect(cells.some((cell) => /^policy:policy-\d$/.test(cell[approvedBy]))).toBe(true);
    expect(cells.some((cell) => /@example\.com/.test(cell[approvedBy]))).toBe(true);
  });

  it('prints a JSON array with --format json', async () => {
    const { code, out } = await query('--format', 'json');

    expect(code).toBe(0);
    expect(JSON.parse(out)).toHaveLength(clean.requests);
  });

  it.each(['approved', 'denied', 'expired', 'rejected'])(
    'keeps only %s requests with --decision',
    async (decision) => {
      const { out } = await query('--decision', decision, '--format', 'json');

      const rows = JSON.parse(out) as { decision: string }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.decision === decision)).toBe(true);
    },
  );

  it('shows why a rejected request was rejected', async () => {
    const { out } = await query('--decision', 'rejected', '--format', 'json');

    const rows = JSON.parse(out) as { reasons: string[] }[];
    expect(rows.every((row) => row.reasons.length > 0)).toBe(true);
  });

  it('keeps requests decided within --decided-since and --decided-until, and none undecided', async () => {
    const all = JSON.parse((await query('--format', 'json')).out) as { decidedAt?: string }[];
    const times = all.flatMap((row) => (row.decidedAt ? [row.decidedAt] : [])).sort();
    const [since, until] = [times[5], times[15]];

    const rows = JSON.parse(
      (await query('--format', 'json', '--decided-since', since, '--decided-until', until)).out,
    ) as {
      decidedAt?: string;
    }[];

    expect(rows.map((row) => row.decidedAt)).toEqual(
      all.flatMap((row) =>
        row.decidedAt && row.decidedAt >= since && row.decidedAt < until ? [row.decidedAt] : [],
      ),
    );
  });
});

describe('Command: action-approvals on an internal error', () => {
  it('prints one line and exits 70', async () => {
    // Preloaded to stand in for a bug: every SHA-256 throws, as no input can make it do.
    const preload = join(clean.dir, 'broken-hashing.cjs');
    writeFileSync(
      preload,
      `const crypto = require('node:crypto');
const createHash = crypto.createHash;
crypto.createHash = (algorithm, ...rest) => {
  if (algorithm === 'sha256') throw new Error('hashing is broken');
  return createHash(algorithm, ...rest);
};`,
    );
    const run = promisify(execFile);
    const root = join(__dirname, '..', '..');

    const failed = await run(
      join(root, 'node_modules', '.bin', 'tsx'),
      [join(root, 'bin', 'cli.ts'), 'audit', 'verify', clean.dir, '--skip-receipts'],
      {
        env: {
          ...process.env,
          NODE_OPTIONS: `--require ${preload}`,
        },
      },
    ).catch((error: { code: number; stderr: string }) => error);

    expect(failed).toMatchObject({ code: 70 });
    const lines = (failed as { stderr: string }).stderr
      .split('\n')
      .filter((line) => line.startsWith('action-approvals'));
    expect(lines).toEqual(['action-approvals: internal error: hashing is broken']);
  });
});

describe('Command: action-approvals audit verify on worker threads', () => {
  it('prints one line and exits 70 when a worker thread fails, never a clean report', async () => {
    // Preloaded into every thread; only the worker threads' SHA-256 throws, as no input can make it do.
    const preload = join(clean.dir, 'broken-worker-hashing.cjs');
    writeFileSync(
      preload,
      `const { isMainThread } = require('node:worker_threads');
const crypto = require('node:crypto');
const createHash = crypto.createHash;
crypto.createHash = (algorithm, ...rest) => {
  if (algorithm === 'sha256' && !isMainThread) throw new Error('hashing is broken');
  return createHash(algorithm, ...rest);
};`,
    );
    const run = promisify(execFile);
    const root = join(__dirname, '..', '..');

    const failed = await run(
      join(root, 'node_modules', '.bin', 'tsx'),
      [join(root, 'bin', 'cli.ts'), 'audit', 'verify', clean.dir, '--skip-receipts', '--threads', '2'],
      { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` } },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);

    expect(failed).toMatchObject({ code: 70, stdout: '' });
    const lines = (failed as { stderr: string }).stderr
      .split('\n')
      .filter((line) => line.startsWith('action-approvals'));
    expect(lines).toEqual([
      'action-approvals: internal error: a verification thread failed: hashing is broken',
    ]);
  });

  it('finds what one thread finds', async () => {
    const onThreads = capturedIo();
    const oneThread = capturedIo();

    const codes = [
      await main(['audit', 'verify', clean.dir, '--skip-receipts', '--json', '--threads', '2'], onThreads),
      await main(['audit', 'verify', clean.dir, '--skip-receipts', '--json', '--threads', '0'], oneThread),
    ];

    expect(codes).toEqual([0, 0]);
    expect(JSON.parse(onThreads.out())).toEqual(JSON.parse(oneThread.out()));
  });

  it.each(['-1', '1.5', 'many', '17'])('exits 2 for --threads %s', async (threads) => {
    const io = capturedIo();

    expect(await main(['audit', 'verify', clean.dir, '--skip-receipts', '--threads', threads], io)).toBe(2);
    expect(io.err()).toContain('--threads must be a whole number from 0 to 16');
  });
});
