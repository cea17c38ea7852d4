import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { lineBatches, MAX_LINE_CHARS, OVERSIZED_LINE } from '../../lambdas/compliance/lines';
import { LocalStore } from '../../lambdas/compliance/stores';
import { readTrail } from '../../lambdas/compliance/trail';
import { FINDING, type Finding, type InputFinding } from '../../lambdas/compliance/types';
import { verifyTrail } from '../../lambdas/compliance/verify';
import type { Fixture } from './fixtures/generator';
import { checkerFor, copyOf, localStores, removeTempDirs, smallFixture, tempDir } from './helpers';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await smallFixture();
});

afterAll(removeTempDirs);

const inputErrors = (findings: readonly Finding[]): InputFinding[] =>
  findings.filter((finding): finding is InputFinding => finding.kind === FINDING.inputError);

const rewriteJson = (
  file: string,
  change: (value: Record<string, unknown>) => Record<string, unknown>,
): void =>
  writeFileSync(
    file,
    JSON.stringify(change(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)),
  );

async function verifyCopy(copy: { readonly dir: string }) {
  return verifyTrail(await localStores(copy.dir), { checkReceipt: await checkerFor(fixture) });
}

describe('Function: readTrail', () => {
  it('reports a truncated gzip object with its file and the line it broke at, and reads every other object', async () => {
    // Prepare
    const copy = copyOf(fixture);
    const damaged = copy.path(fixture.archiveFiles[1]);
    const complete = gunzipSync(readFileSync(damaged)).toString('utf8').trim().split('\n').length;
    truncateSync(damaged, Math.floor(readFileSync(damaged).length / 2));

    // Act
    const report = await verifyCopy(copy);

    // Assess
    const [error] = inputErrors(report.findings);
    expect(error).toEqual({
      kind: FINDING.inputError,
      file: damaged,
      line: expect.any(Number),
      reason: expect.stringContaining('unexpected end of file'),
    });
    expect(error.line).toBeGreaterThan(0);
    expect(error.line).toBeLessThanOrEqual(complete);
    // What the archive lost is still in the export: the rest was verified and cross-checked.
    expect(
      report.findings
        .filter((finding) => finding.kind !== FINDING.inputError)
        .every((finding) => finding.kind === FINDING.onlyInExport),
    ).toBe(true);
    expect(report.records).toBe(fixture.records);
  });

  it('reports a malformed JSON line with its file and line, and reads the lines after it', async () => {
    const copy = copyOf(fixture);
    const damaged = copy.path(fixture.archiveFiles[0]);
    const lines = gunzipSync(readFileSync(damaged)).toString('utf8').trim().split('\n');
    lines[2] = '{"requestId": "unterminated';
    writeFileSync(damaged, gzipSync(`${lines.join('\n')}\n`));

    const report = await verifyCopy(copy);

    expect(inputErrors(report.findings)).toEqual([
      { kind: FINDING.inputError, file: damaged, line: 3, reason: expect.stringMatching(/^not JSON/) },
    ]);
    expect(report.records).toBe(fixture.records);
  });

  it('reports a line that is JSON but not an audit record', async () => {
    const copy = copyOf(fixture);
    const damaged = copy.path(fixture.archiveFiles[0]);
    const lines = gunzipSync(readFileSync(damaged)).toString('utf8').trim().split('\n');
    lines[0] = JSON.stringify({ ...JSON.parse(lines[0]), seq: '0' });
    writeFileSync(damaged, gzipSync(`${lines.join('\n')}\n`));

    const report = await verifyCopy(copy);

    expect(inputErrors(report.findings)).toEqual([
      {
        kind: FINDING.inputError,
        file: damaged,
        line: 1,
        reason: 'seq: expected a non-negative integer, got "0"',
      },
    ]);
  });

  it('reports an export summary that is not JSON, and still verifies the archive', async () => {
    const copy = copyOf(fixture);
    const summary = copy.path(fixture.export.summaryFile);
    writeFileSync(summary, '{"version": "2020-06-30", ');

    const report = await verifyCopy(copy);

    expect(report.findings).toEqual([
      {
        kind: FINDING.inputError,
        file: summary,
        reason: expect.stringMatching(/^not a usable export manifest: not JSON/),
      },
    ]);
    expect(report).toMatchObject({ records: fixture.records, crossChecked: false });
  });

  it.each([
    [
      'an ION export',
      { outputFormat: 'ION' },
      'outputFormat is "ION"; only DYNAMODB_JSON exports can be read',
    ],
    ['no manifestFilesS3Key', { manifestFilesS3Key: undefined }, 'manifestFilesS3Key is missing'],
    ['no exportTime', { exportTime: undefined }, 'exportTime is missing or not a time'],
  ])('reports a summary with %s as a wrong manifest', async (_case, change, reason) => {
    const copy = copyOf(fixture);
    const summary = copy.path(fixture.export.summaryFile);
    rewriteJson(summary, (value) => ({ ...value, ...change }));

    const report = await verifyCopy(copy);

    expect(inputErrors(report.findings)).toEqual([
      { kind: FINDING.inputError, file: summary, reason: `not a usable export manifest: ${reason}` },
    ]);
  });

  it('reports a missing data file as one finding with the count of records it held, and no finding per record', async () => {
    // Prepare
    const copy = copyOf(fixture);
    const missing = copy.path(fixture.export.dataFiles[2]);
    rmSync(missing);

    // Act
    const report = await verifyCopy(copy);

    // Assess
    const listed = JSON.parse(readFileSync(fixture.export.manifestFile, 'utf8').trim().split('\n')[2]) as {
      itemCount: number;
    };
    expect(report.findings).toEqual([
      {
        kind: FINDING.inputError,
        file: copy.path(fixture.export.manifestFile),
        line: 3,
        reason: `data file ${missing}: does not exist; the ${listed.itemCount} items it lists are unverified`,
      },
    ]);
  });

  it('reports a manifest-files line that is not a data file entry', async () => {
    const copy = copyOf(fixture);
    const manifest = copy.path(fixture.export.manifestFile);
    const lines = readFileSync(manifest, 'utf8').trim().split('\n');
    lines[0] = '{"itemCount": 3}';
    writeFileSync(manifest, `${lines.join('\n')}\n`);

    const report = await verifyCopy(copy);

    expect(inputErrors(report.findings)).toEqual([
      {
        kind: FINDING.inputError,
        file: manifest,
        line: 1,
        reason: 'not a data file entry: dataFileS3Key is missing',
      },
    ]);
  });

  it('reports a data file whose item count or MD5 differs from its manifest entry', async () => {
    const copy = copyOf(fixture);
    const manifest = copy.path(fixture.export.manifestFile);
    const lines = readFileSync(manifest, 'utf8').trim().split('\n');
    const entry = JSON.parse(lines[1]) as { itemCount: number; md5Checksum: string };
    lines[1] = JSON.stringify({
      ...entry,
      itemCount: entry.itemCount + 1,
      md5Checksum: 'AAAAAAAAAAAAAAAAAAAAAA==',
    });
    writeFileSync(manifest, `${lines.join('\n')}\n`);

    const report = await verifyCopy(copy);

    const dataFile = copy.path(fixture.export.dataFiles[1]);
    expect(inputErrors(report.findings)).toEqual([
      {
        kind: FINDING.inputError,
        file: dataFile,
        reason: `holds ${entry.itemCount} items but ${manifest}:2 lists ${entry.itemCount + 1}`,
      },
      {
        kind: FINDING.inputError,
        file: dataFile,
        reason: `MD5 is ${entry.md5Checksum} but ${manifest}:2 lists AAAAAAAAAAAAAAAAAAAAAA==`,
      },
    ]);
  });

  it('reports an export line that is not DynamoDB JSON with its data file and line', async () => {
    const copy = copyOf(fixture);
    const dataFile = copy.path(fixture.export.dataFiles[0]);
    const lines = gunzipSync(readFileSync(dataFile)).toString('utf8').trim().split('\n');
    lines[1] = JSON.stringify({ Item: { requestId: 'not an attribute value' } });
    writeFileSync(dataFile, gzipSync(`${lines.join('\n')}\n`));

    const report = await verifyCopy(copy);

    expect(inputErrors(report.findings)[0]).toEqual({
      kind: FINDING.inputError,
      file: dataFile,
      line: 2,
      reason: expect.stringMatching(/^Item is not DynamoDB JSON|^requestId: expected a non-empty string/),
    });
  });

  it('reports a folder with nothing to read', async () => {
    const empty = tempDir();
    const problems: InputFinding[] = [];

    await readTrail(await localStores(empty), {
      record: () => undefined,
      problem: (finding) => problems.push(finding),
    });

    expect(problems).toEqual([
      { kind: FINDING.inputError, file: empty, reason: expect.stringContaining('no stream-archive objects') },
    ]);
  });

  it('reads an export from the folder it was copied to, whatever its S3 keys say', async () => {
    const copy = copyOf(fixture);
    rewriteJson(copy.path(fixture.export.summaryFile), (value) => ({
      ...value,
      manifestFilesS3Key: `elsewhere/${String(value.manifestFilesS3Key)}`,
    }));

    const report = await verifyTrail(await localStores(copy.path(fixture.export.folder)), {
      checkReceipt: await checkerFor(fixture),
    });

    expect(report).toMatchObject({ ok: true, inputs: { exports: 1, dataFiles: 4 } });
  });
});

describe('Function: lineBatches', () => {
  const collect = async (text: string | Buffer, gzip = false) => {
    const lines: (string | typeof OVERSIZED_LINE)[] = [];
    for await (const batch of lineBatches(Readable.from([Buffer.from(text)]), { gzip })) {
      expect(batch.firstLine).toBe(lines.length + 1);
      lines.push(...batch.lines);
    }
    return lines;
  };

  it('splits CRLF and LF lines and keeps a last line without a newline', async () => {
    await expect(collect('a\r\nb\n\nc')).resolves.toEqual(['a', 'b', '', 'c']);
  });

  it('stands in for a line longer than the limit without keeping it', async () => {
    await expect(collect(`short\n${'x'.repeat(MAX_LINE_CHARS + 10)}\nafter\n`)).resolves.toEqual([
      'short',
      OVERSIZED_LINE,
      'after',
    ]);
  });

  it('reads gzip input', async () => {
    await expect(collect(gzipSync('one\ntwo\n'), true)).resolves.toEqual(['one', 'two']);
  });
});

describe('Class: LocalStore', () => {
  it('lists a single file given as the location', async () => {
    const store = await LocalStore.at(fixture.archiveFiles[0]);
    if (!store.ok) throw new Error(store.error);

    const keys: string[] = [];
    for await (const { key } of store.value.list()) keys.push(key);

    expect(keys.map((key) => store.value.displayName(key))).toEqual([fixture.archiveFiles[0]]);
  });

  it('refuses a path that does not exist', async () => {
    await expect(LocalStore.at(join(fixture.dir, 'nope'))).resolves.toEqual({
      ok: false,
      error: `${join(fixture.dir, 'nope')}: no such file or folder`,
    });
  });
});
