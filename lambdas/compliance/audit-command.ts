import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { JWK } from 'jose';
import { err, ok, type Result } from '../core/result';
import { ProgressBar } from './progress';
import { OUTCOMES, type Outcome, type QueryFilter, queryTrail, type RequestRow } from './query';
import { kmsPublicJwk, readJwkFile, receiptChecker, type ReceiptCheck } from './receipts';
import { type ObjectStore, storeFor } from './stores';
import { totalBytes, type ReadOptions } from './trail';
import { FINDING_CATEGORY, type Finding } from './types';
import { verifyTrail, type VerifyOptions, type VerifyReport } from './verify';

/** Where a command writes; injected so tests read what a user would see. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The progress bar is drawn only on a terminal, never into a file or a pipe. */
  readonly stderrIsTerminal: boolean;
}

export const EXIT = {
  /** Verified: nothing found. Query: answered from every input. */
  ok: 0,
  /** Verify found something (or could not read some input); query could not read some input. */
  findings: 1,
  /** The command line is wrong, or a key or an input location cannot be used at all. */
  usage: 2,
} as const;

export const AUDIT_USAGE = `Usage:
  action-approvals audit verify <path|s3://bucket/prefix>... (--public-key FILE | --kms-key-id ID | --skip-receipts)
                                [--json] [--max-findings N] [--max-open-hours H] [--region REGION]
  action-approvals audit query <path|s3://bucket/prefix>... [--agent ID] [--reviewer ID] [--operation OP]
                               [--resource ARN] [--outcome ${OUTCOMES.join('|')}[,…]] [--since TIME] [--until TIME]
                               [--format table|jsonl] [--region REGION]

Inputs are stream-archive objects (*.jsonl.gz) and DynamoDB exports (found by manifest-summary.json)
anywhere under the given folders or prefixes; several inputs are read as one trail.
Exit codes: 0 nothing found, 1 findings or unreadable input, 2 usage error.`;

/** `action-approvals audit …`: verifies or queries the audit trail from archives and exports. */
export async function auditCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = argv;
  switch (subcommand) {
    case 'verify':
      return runVerify(rest, io);
    case 'query':
      return runQuery(rest, io);
    case undefined:
    case 'help':
    case '--help':
      io.stdout.write(`${AUDIT_USAGE}\n`);
      return subcommand === undefined ? EXIT.usage : EXIT.ok;
    default:
      return usage(io, `unknown audit command "${subcommand}"`);
  }
}

function usage(io: CliIo, message: string): number {
  io.stderr.write(`action-approvals audit: ${message}\n\n${AUDIT_USAGE}\n`);
  return EXIT.usage;
}

type Parsed<T> = Result<T, string>;

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return ok(parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }));
  } catch (error) {
    return err((error as Error).message);
  }
}

/** AWS clients, created (and their SDKs loaded) only when an input or a key needs them. */
function clients(region: string | undefined): { s3: () => Promise<S3Client>; kms: () => Promise<KMSClient> } {
  let s3: Promise<S3Client> | undefined;
  let kms: Promise<KMSClient> | undefined;
  return {
    // A bucket in another region than the default answers with a redirect the client can follow.
    s3: () =>
      (s3 ??= import('@aws-sdk/client-s3').then(
        ({ S3Client }) => new S3Client({ region, followRegionRedirects: true }),
      )),
    kms: () => (kms ??= import('@aws-sdk/client-kms').then(({ KMSClient }) => new KMSClient({ region }))),
  };
}

async function storesFor(
  inputs: readonly string[],
  s3: () => Promise<S3Client>,
): Promise<Parsed<ObjectStore[]>> {
  if (inputs.length === 0) return err('give at least one input: a folder, a file, or s3://bucket/prefix');
  const stores: ObjectStore[] = [];
  for (const input of inputs) {
    const store = await storeFor(input, s3);
    if (!store.ok) return store;
    stores.push(store.value);
  }
  return ok(stores);
}

function positiveNumber(name: string, value: string | undefined, fallback: number): Parsed<number> {
  if (value === undefined) return ok(fallback);
  const number = Number(value);
  return Number.isFinite(number) && number > 0
    ? ok(number)
    : err(`--${name} must be a positive number, got "${value}"`);
}

/** Reading with a progress bar when a person is watching: it needs the total size, so a listing pass first. */
async function readOptions(
  stores: readonly ObjectStore[],
  io: CliIo,
  label: string,
): Promise<{ options: ReadOptions; bar?: ProgressBar }> {
  if (!io.stderrIsTerminal) return { options: {} };
  const bar = new ProgressBar(io.stderr, label, await totalBytes(stores));
  return { options: { onBytes: (bytes) => bar.advance(bytes) }, bar };
}

async function trustedReceiptCheck(
  publicKeys: readonly string[],
  kmsKeyIds: readonly string[],
  kms: () => Promise<KMSClient>,
): Promise<Parsed<ReceiptCheck>> {
  const keys: JWK[] = [];
  for (const path of publicKeys) {
    const read = await readJwkFile(path);
    if (!read.ok) return read;
    keys.push(...read.value);
  }
  for (const keyId of kmsKeyIds) {
    const fetched = await kmsPublicJwk(await kms(), keyId);
    if (!fetched.ok) return fetched;
    keys.push(fetched.value);
  }
  return ok(receiptChecker(keys));
}

async function runVerify(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parse(argv, {
    'public-key': { type: 'string', multiple: true },
    'kms-key-id': { type: 'string', multiple: true },
    'skip-receipts': { type: 'boolean' },
    json: { type: 'boolean' },
    'max-findings': { type: 'string' },
    'max-open-hours': { type: 'string' },
    region: { type: 'string' },
  });
  if (!parsed.ok) return usage(io, parsed.error);
  const { values, positionals } = parsed.value;
  const publicKeys = values['public-key'] ?? [];
  const kmsKeyIds = values['kms-key-id'] ?? [];
  const skipReceipts = values['skip-receipts'] === true;
  if (skipReceipts === publicKeys.length + kmsKeyIds.length > 0) {
    return usage(
      io,
      'receipts are checked with --public-key FILE or --kms-key-id ID; or pass --skip-receipts (and only that)',
    );
  }
  const maxFindings = positiveNumber('max-findings', values['max-findings'], 1000);
  if (!maxFindings.ok) return usage(io, maxFindings.error);
  const maxOpenHours = positiveNumber('max-open-hours', values['max-open-hours'], 24);
  if (!maxOpenHours.ok) return usage(io, maxOpenHours.error);

  const { s3, kms } = clients(values.region);
  const stores = await storesFor(positionals, s3);
  if (!stores.ok) return usage(io, stores.error);
  let checkReceipt: ReceiptCheck | undefined;
  if (!skipReceipts) {
    const check = await trustedReceiptCheck(publicKeys, kmsKeyIds, kms);
    if (!check.ok) return usage(io, check.error);
    checkReceipt = check.value;
  }

  const { options, bar } = await readOptions(stores.value, io, 'verify');
  const verifyOptions: VerifyOptions = {
    ...options,
    checkReceipt,
    maxFindings: maxFindings.value,
    maxOpenHours: maxOpenHours.value,
    onRecords: bar ? (records) => bar.recordsRead(records) : undefined,
  };
  const report = await verifyTrail(stores.value, verifyOptions);
  bar?.finish();
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.ok ? EXIT.ok : EXIT.findings;
}

const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

function locationText(finding: Finding): string {
  if (finding.file === undefined) return '';
  return finding.line === undefined ? finding.file : `${finding.file}:${finding.line}`;
}

function findingText(finding: Finding): string {
  const where = locationText(finding);
  if (finding.kind === 'input-error') return `  ${finding.kind.padEnd(19)} ${where}: ${finding.reason}`;
  const subject = `${finding.requestId} seq ${finding.seq}`;
  return `  ${finding.kind.padEnd(19)} ${subject}: ${finding.reason}${where ? `  (${where})` : ''}`;
}

function renderReport(report: VerifyReport): string {
  const { inputs } = report;
  const perCategory = { chain: 0, receipt: 0, 'cross-check': 0, input: 0 };
  for (const [kind, n] of Object.entries(report.counts))
    perCategory[FINDING_CATEGORY[kind as Finding['kind']]] += n;
  const lines = [
    `Read ${plural(inputs.archiveObjects, 'archive object')} and ${plural(inputs.exports, 'export')} (${plural(inputs.dataFiles, 'data file')})`,
    `  requests     ${count(report.requests)} (${count(report.openRequests)} still open)`,
    `  records      ${count(report.records)} distinct, ${count(report.recordsRead)} read, ${count(report.duplicates)} delivered twice`,
    `  executions   ${count(report.executions)}, receipts ${report.receipts}`,
    `  cross-check  ${report.crossChecked ? 'stream archive against exports' : 'not done (needs both the stream archive and an export)'}`,
  ];
  if (report.ok) {
    lines.push(
      'OK: every chain is intact, every execution has a valid receipt, no record is missing or extra.',
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push(`Findings (${count(report.findings.length + report.findingsOmitted)}):`);
  lines.push(...report.findings.map(findingText));
  if (report.findingsOmitted > 0)
    lines.push(`  … and ${count(report.findingsOmitted)} more (raise --max-findings to list them)`);
  lines.push(
    `FAILED: ${plural(perCategory.chain, 'broken chain')}, ${plural(perCategory.receipt, 'execution')} without a valid receipt, ` +
      `${plural(perCategory['cross-check'], 'missing or extra record')}, ${plural(perCategory.input, 'input error')}`,
  );
  return `${lines.join('\n')}\n`;
}

function time(name: string, value: string | undefined): Parsed<number | undefined> {
  if (value === undefined) return ok(undefined);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? err(`--${name} must be a date or an ISO-8601 time, got "${value}"`) : ok(ms);
}

function outcomes(values: readonly string[] | undefined): Parsed<Outcome[] | undefined> {
  if (values === undefined) return ok(undefined);
  const wanted = values.flatMap((value) => value.split(',')).map((value) => value.trim());
  const unknown = wanted.filter((value) => !(OUTCOMES as readonly string[]).includes(value));
  return unknown.length > 0
    ? err(`--outcome must be one of ${OUTCOMES.join(', ')}; got ${unknown.join(', ')}`)
    : ok(wanted as Outcome[]);
}

async function runQuery(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parse(argv, {
    agent: { type: 'string' },
    reviewer: { type: 'string' },
    operation: { type: 'string' },
    resource: { type: 'string' },
    outcome: { type: 'string', multiple: true },
    since: { type: 'string' },
    until: { type: 'string' },
    format: { type: 'string', default: 'table' },
    region: { type: 'string' },
  });
  if (!parsed.ok) return usage(io, parsed.error);
  const { values, positionals } = parsed.value;
  if (values.format !== 'table' && values.format !== 'jsonl')
    return usage(io, `--format must be table or jsonl, got "${values.format}"`);
  const since = time('since', values.since);
  if (!since.ok) return usage(io, since.error);
  const until = time('until', values.until);
  if (!until.ok) return usage(io, until.error);
  const wanted = outcomes(values.outcome);
  if (!wanted.ok) return usage(io, wanted.error);
  const stores = await storesFor(positionals, clients(values.region).s3);
  if (!stores.ok) return usage(io, stores.error);

  const filter: QueryFilter = {
    agent: values.agent,
    reviewer: values.reviewer,
    operation: values.operation,
    resource: values.resource,
    outcomes: wanted.value,
    since: since.value,
    until: until.value,
  };
  const { options, bar } = await readOptions(stores.value, io, 'query');
  const result = await queryTrail(stores.value, filter, options);
  bar?.finish();
  for (const problem of result.problems) {
    io.stderr.write(
      `input error: ${problem.file}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.reason}\n`,
    );
  }
  io.stdout.write(
    values.format === 'jsonl'
      ? result.rows.map((row) => `${JSON.stringify(row)}\n`).join('')
      : renderTable(result.rows),
  );
  return result.problems.length === 0 ? EXIT.ok : EXIT.findings;
}

function votesText(row: RequestRow): string {
  return row.votes
    .map((vote) => `${vote.reviewer} ${vote.decision}${vote.refused ? ` (refused: ${vote.refused})` : ''}`)
    .join(', ');
}

function renderTable(rows: readonly RequestRow[]): string {
  const header = ['REQUESTED AT', 'REQUEST', 'AGENT', 'OPERATION', 'RESOURCE', 'OUTCOME', 'VOTES'];
  const cells = rows.map((row) => [
    row.requestedAt,
    row.requestId,
    row.agent ?? '-',
    row.operation ?? '-',
    row.resource ?? '-',
    row.outcome,
    votesText(row) || '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column].length)),
  );
  const line = (cell: readonly string[]): string =>
    cell
      .map((value, column) => (column === cell.length - 1 ? value : value.padEnd(widths[column])))
      .join('  ');
  return `${[header, ...cells].map(line).join('\n')}\n${plural(rows.length, 'request')}\n`;
}
