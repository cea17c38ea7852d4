import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { type Command, Option } from 'commander';
import type { JWK } from 'jose';
import { err, ok, type Result } from '../core/result';
import { ProgressBar } from './progress';
import {
  type Decision,
  DECISIONS,
  OUTCOMES,
  type Outcome,
  type QueryFilter,
  queryTrail,
  type RequestRow,
} from './query';
import { kmsPublicJwk, readJwkFile, receiptChecker, type ReceiptCheck } from './receipts';
import { type ObjectStore, storeFor } from './stores';
import { totalBytes, type ReadOptions } from './trail';
import { FINDING_CATEGORY, FINDING_MEANING, type Finding, type FindingKind } from './types';
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
  /** A bug in this program (EX_SOFTWARE): one line on stderr, never a finding about the trail. */
  internalError: 70,
} as const;

/** Receives a command's exit code; the program that registered the command decides what to do with it. */
export type ExitWith = (code: number) => void;

const INPUTS_HELP = `Inputs are stream-archive objects (*.jsonl.gz) and DynamoDB exports (full or incremental,
found by manifest-summary.json) anywhere under the given folders, files or s3://bucket/prefix
locations; several inputs are read as one trail.`;

const EXIT_HELP = `Exit codes: 0 nothing found, 1 findings or unreadable input, 2 usage error, 70 internal error
(a bug: one line on stderr).`;

/** Every finding kind and what it means, for `audit verify --help`. */
export const FINDINGS_HELP = `Findings:\n${(Object.entries(FINDING_MEANING) as [FindingKind, string][])
  .map(([kind, meaning]) => `  ${kind.padEnd(20)} ${meaning}`)
  .join('\n')}`;

/**
 * \`action-approvals audit verify|query\`: verifies or queries the audit trail from archives and
 * exports. Usage errors go to stderr with exit code 2; the outcome of a run to `exit`.
 */
export function registerAuditCommands(program: Command, io: CliIo, exit: ExitWith): void {
  const audit = program
    .command('audit')
    .description('verify or query the audit trail from stream archives and table exports')
    .addHelpText('after', `\n${INPUTS_HELP}\n${EXIT_HELP}`);
  const usage = (command: Command, message: string): void => {
    io.stderr.write(`action-approvals audit ${command.name()}: ${message}\n`);
    exit(EXIT.usage);
  };

  audit
    .command('verify')
    .description(
      'check every chain, receipt and copy of the trail; exits 1 and lists findings when anything is wrong',
    )
    .argument('<inputs...>', 'folders, files or s3://bucket/prefix locations of archives and exports')
    .option(
      '--public-key <file>',
      'a receipt-signing public key as a JWK or JWK set (repeatable)',
      collect,
      [],
    )
    .option(
      '--kms-key-id <id>',
      'the KMS receipt-signing key, read with kms:GetPublicKey (repeatable)',
      collect,
      [],
    )
    .option('--skip-receipts', 'do not check receipts (then the signed receipt anchors nothing)')
    .option('--json', 'print the report as JSON')
    .option('--max-findings <n>', 'list at most this many findings; all are counted', '1000')
    .option(
      '--max-open-hours <h>',
      'a request quiet this long before the newest record without ending is a finding',
      '24',
    )
    .option(
      '--threads <n>',
      'worker threads that read and hash local inputs; 0 reads on one thread (default: one per core for large local inputs)',
    )
    .option('--region <region>', 'AWS region for s3:// inputs and --kms-key-id')
    .addHelpText('after', `\n${FINDINGS_HELP}\n\n${INPUTS_HELP}\n${EXIT_HELP}`)
    .action(async (inputs: string[], values: VerifyFlags, command: Command) => {
      const result = await runVerify(inputs, values, io);
      if (typeof result === 'string') usage(command, result);
      else exit(result);
    });

  audit
    .command('query')
    .description(
      'list requests from the trail, one row per request (it does not verify: run audit verify too)',
    )
    .argument('<inputs...>', 'folders, files or s3://bucket/prefix locations of archives and exports')
    .option('--agent <id>', 'requests by this agent')
    .option('--reviewer <id>', 'requests this reviewer voted on')
    .option('--operation <op>', 'IAM action; * matches any run of characters (dynamodb:*)')
    .option('--resource <arn>', 'resource ARN; * matches any run of characters')
    .option(
      '--decision <decision>',
      `how the request was decided: ${DECISIONS.join('|')} (comma-separated or repeated)`,
      collect,
      undefined,
    )
    .option(
      '--outcome <outcome>',
      `how the request ended: ${OUTCOMES.join('|')} (comma-separated or repeated)`,
      collect,
      undefined,
    )
    .option('--since <time>', 'requested at or after this date or ISO-8601 time')
    .option('--until <time>', 'requested before this date or ISO-8601 time')
    .option('--decided-since <time>', 'decided at or after this date or ISO-8601 time')
    .option('--decided-until <time>', 'decided before this date or ISO-8601 time')
    .addOption(
      new Option(
        '--format <format>',
        'table for people; json (an array), jsonl or csv (one row per request) for tools',
      )
        .choices(['table', 'json', 'jsonl', 'csv'])
        .default('table'),
    )
    .option('--region <region>', 'AWS region for s3:// inputs')
    .addHelpText(
      'after',
      `\nDecisions: approved (by reviewers, or by policy: "approved by" names the policy; its execution
may still have failed), denied, expired, rejected (with its reasons), failed (before any decision).
\n${INPUTS_HELP}\n${EXIT_HELP}`,
    )
    .action(async (inputs: string[], values: QueryFlags, command: Command) => {
      const result = await runQuery(inputs, values, io);
      if (typeof result === 'string') usage(command, result);
      else exit(result);
    });
}

const collect = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

type Parsed<T> = Result<T, string>;

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

function positiveNumber(name: string, value: string): Parsed<number> {
  const number = Number(value);
  return Number.isFinite(number) && number > 0
    ? ok(number)
    : err(`--${name} must be a positive number, got "${value}"`);
}

/** More worker threads than this cannot help: the main thread that links their digests is the next limit. */
const MAX_THREADS = 16;

function threadCount(value: string): Parsed<number> {
  const number = Number(value);
  return Number.isSafeInteger(number) && number >= 0 && number <= MAX_THREADS && value.trim() !== ''
    ? ok(number)
    : err(`--threads must be a whole number from 0 to ${MAX_THREADS}, got "${value}"`);
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

interface VerifyFlags {
  readonly publicKey: string[];
  readonly kmsKeyId: string[];
  readonly skipReceipts?: boolean;
  readonly json?: boolean;
  readonly maxFindings: string;
  readonly maxOpenHours: string;
  readonly threads?: string;
  readonly region?: string;
}

/** The exit code, or a usage error. */
async function runVerify(
  inputs: readonly string[],
  values: VerifyFlags,
  io: CliIo,
): Promise<number | string> {
  const { publicKey: publicKeys, kmsKeyId: kmsKeyIds } = values;
  const skipReceipts = values.skipReceipts === true;
  if (skipReceipts === publicKeys.length + kmsKeyIds.length > 0) {
    return 'receipts are checked with --public-key FILE or --kms-key-id ID; or pass --skip-receipts (and only that)';
  }
  const maxFindings = positiveNumber('max-findings', values.maxFindings);
  if (!maxFindings.ok) return maxFindings.error;
  const maxOpenHours = positiveNumber('max-open-hours', values.maxOpenHours);
  if (!maxOpenHours.ok) return maxOpenHours.error;
  const threads = values.threads === undefined ? ok(undefined) : threadCount(values.threads);
  if (!threads.ok) return threads.error;

  const { s3, kms } = clients(values.region);
  const stores = await storesFor(inputs, s3);
  if (!stores.ok) return stores.error;
  let checkReceipt: ReceiptCheck | undefined;
  if (!skipReceipts) {
    const check = await trustedReceiptCheck(publicKeys, kmsKeyIds, kms);
    if (!check.ok) return check.error;
    checkReceipt = check.value;
  }

  const { options, bar } = await readOptions(stores.value, io, 'verify');
  const verifyOptions: VerifyOptions = {
    ...options,
    checkReceipt,
    maxFindings: maxFindings.value,
    maxOpenHours: maxOpenHours.value,
    threads: threads.value,
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
    `  table        ${report.referenceExport ? `as of the newest full export, ${report.referenceExport.exportTime} (${report.referenceExport.file})` : 'no full export read: deletions from the table cannot be told'}`,
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

function oneOf<T extends string>(
  name: string,
  allowed: readonly T[],
  values: readonly string[] | undefined,
): Parsed<T[] | undefined> {
  if (values === undefined) return ok(undefined);
  const wanted = values.flatMap((value) => value.split(',')).map((value) => value.trim());
  const unknown = wanted.filter((value) => !(allowed as readonly string[]).includes(value));
  return unknown.length > 0
    ? err(`--${name} must be one of ${allowed.join(', ')}; got ${unknown.join(', ')}`)
    : ok(wanted as T[]);
}

/** A [start, end) range; a start after its end is a mistake, not a question with no answer. */
function range(
  names: readonly [string, string],
  values: readonly [string | undefined, string | undefined],
): Parsed<[number | undefined, number | undefined]> {
  const start = time(names[0], values[0]);
  if (!start.ok) return start;
  const end = time(names[1], values[1]);
  if (!end.ok) return end;
  if (start.value !== undefined && end.value !== undefined && start.value > end.value)
    return err(`--${names[0]} ${values[0]} is after --${names[1]} ${values[1]}`);
  return ok([start.value, end.value]);
}

interface QueryFlags {
  readonly agent?: string;
  readonly reviewer?: string;
  readonly operation?: string;
  readonly resource?: string;
  readonly decision?: string[];
  readonly outcome?: string[];
  readonly since?: string;
  readonly until?: string;
  readonly decidedSince?: string;
  readonly decidedUntil?: string;
  readonly format: 'table' | 'json' | 'jsonl' | 'csv';
  readonly region?: string;
}

/** The exit code, or a usage error. */
async function runQuery(inputs: readonly string[], values: QueryFlags, io: CliIo): Promise<number | string> {
  const requested = range(['since', 'until'], [values.since, values.until]);
  if (!requested.ok) return requested.error;
  const decided = range(['decided-since', 'decided-until'], [values.decidedSince, values.decidedUntil]);
  if (!decided.ok) return decided.error;
  const outcomes = oneOf<Outcome>('outcome', OUTCOMES, values.outcome);
  if (!outcomes.ok) return outcomes.error;
  const decisions = oneOf<Decision>('decision', DECISIONS, values.decision);
  if (!decisions.ok) return decisions.error;
  const stores = await storesFor(inputs, clients(values.region).s3);
  if (!stores.ok) return stores.error;

  const filter: QueryFilter = {
    agent: values.agent,
    reviewer: values.reviewer,
    operation: values.operation,
    resource: values.resource,
    outcomes: outcomes.value,
    decisions: decisions.value,
    since: requested.value[0],
    until: requested.value[1],
    decidedSince: decided.value[0],
    decidedUntil: decided.value[1],
  };
  const { options, bar } = await readOptions(stores.value, io, 'query');
  const result = await queryTrail(stores.value, filter, options);
  bar?.finish();
  for (const problem of result.problems) {
    io.stderr.write(
      `input error: ${problem.file}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.reason}\n`,
    );
  }
  io.stdout.write(renderRows(result.rows, values.format));
  return result.problems.length === 0 ? EXIT.ok : EXIT.findings;
}

function renderRows(rows: readonly RequestRow[], format: QueryFlags['format']): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows, null, 2)}\n`;
    case 'jsonl':
      return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
    case 'csv':
      return renderCsv(rows);
    case 'table':
      return renderTable(rows);
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
const csvField = (value: string): string =>
  /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

/** The columns of `--format csv`: one row per request, every value flat. */
export const CSV_COLUMNS = [
  'requested_at',
  'request_id',
  'agent',
  'operation',
  'resource',
  'decision',
  'decided_at',
  'approved_by',
  'outcome',
  'ended_at',
  'votes',
  'reasons',
] as const;

function renderCsv(rows: readonly RequestRow[]): string {
  const lines = rows.map((row) =>
    [
      row.requestedAt,
      row.requestId,
      row.agent ?? '',
      row.operation ?? '',
      row.resource ?? '',
      row.decision,
      row.decidedAt ?? '',
      row.approvedBy.join('; '),
      row.outcome,
      row.endedAt ?? '',
      votesText(row),
      row.reasons.join('; '),
    ]
      .map(csvField)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...lines].map((line) => `${line}\r\n`).join('');
}

function votesText(row: RequestRow): string {
  return row.votes
    .map((vote) => `${vote.reviewer} ${vote.decision}${vote.refused ? ` (refused: ${vote.refused})` : ''}`)
    .join(', ');
}

function renderTable(rows: readonly RequestRow[]): string {
  const header = [
    'REQUESTED AT',
    'REQUEST',
    'AGENT',
    'OPERATION',
    'RESOURCE',
    'OUTCOME',
    'APPROVED BY',
    'VOTES',
  ];
  const cells = rows.map((row) => [
    row.requestedAt,
    row.requestId,
    row.agent ?? '-',
    row.operation ?? '-',
    row.resource ?? '-',
    row.outcome,
    row.approvedBy.join(', ') || '-',
    votesText(row) || (row.reasons.length > 0 ? `reasons: ${row.reasons.join('; ')}` : '-'),
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
