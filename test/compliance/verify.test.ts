import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { appendRecord, type AuditRecord } from '../../lambdas/core/audit';
import { FINDING, type FindingKind } from '../../lambdas/compliance/types';
import { verifyTrail } from '../../lambdas/compliance/verify';
import { detailsWithout, eventOf, type Fixture, TAMPERINGS, type Tampering } from './fixtures/generator';
import { checkerFor, copyOf, localStores, removeTempDirs, smallFixture, tempDir } from './helpers';

const DETECTED_AS: Readonly<Record<Tampering, FindingKind>> = {
  'edited-field': FINDING.hashMismatch,
  'deleted-record': FINDING.missingRecord,
  'inserted-record': FINDING.afterTerminal,
  'reordered-records': FINDING.chainBreak,
  'forged-receipt': FINDING.receiptInvalid,
  'replayed-receipt': FINDING.receiptMismatch,
  'only-in-archive': FINDING.onlyInArchive,
  'only-in-export': FINDING.onlyInExport,
  'rewritten-approver': FINDING.receiptMismatch,
  'deleted-from-table': FINDING.deletedFromTable,
};

/** Tamperings that change the whole trail, so the archive or the export alone shows them too. */
const WHOLE_TRAIL: readonly Tampering[] = TAMPERINGS.filter(
  (kind) => !kind.startsWith('only-in-') && kind !== 'deleted-from-table',
);

const archiveOf = (fixture: Fixture) => join(fixture.dir, 'audit', 'archive');

const readLines = (gzFile: string): string[] =>
  gunzipSync(readFileSync(gzFile)).toString('utf8').trim().split('\n');
const writeLines = (gzFile: string, lines: readonly string[]): void =>
  writeFileSync(gzFile, gzipSync(`${lines.join('\n')}\n`));

let clean: Fixture;
const tampered = new Map<Tampering, Fixture>();

beforeAll(async () => {
  clean = await smallFixture();
  for (const kind of TAMPERINGS) tampered.set(kind, await smallFixture({ tamper: kind }));
});

afterAll(removeTempDirs);

describe('Function: verifyTrail', () => {
  it('verifies an untouched archive and export with nothing found', async () => {
    // Act
    const report = await verifyTrail(await localStores(clean.dir), { checkReceipt: await checkerFor(clean) });

    // Assess
    expect(report).toMatchObject({
      ok: true,
      requests: clean.requests,
      records: clean.records,
      receipts: 'checked',
      crossChecked: true,
      findings: [],
      inputs: { archiveObjects: clean.archiveFiles.length, exports: 1, dataFiles: 4 },
    });
    expect(report.executions).toBeGreaterThan(0);
    expect(report.openRequests).toBe(2);
  });

  it('does not count a batch the stream delivered twice as a finding', async () => {
    const report = await verifyTrail(await localStores(archiveOf(clean)), {
      checkReceipt: await checkerFor(clean),
    });

    expect(report.duplicates).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  });

  it.each(TAMPERINGS)('reports %s with the exact request and record, and nothing else', async (kind) => {
    // Prepare
    const fixture = tampered.get(kind) as Fixture;
    const { requestId, seq } = fixture.tampered ?? { requestId: '', seq: -1 };

    // Act
    const report = await verifyTrail(await localStores(fixture.dir), {
      checkReceipt: await checkerFor(fixture),
    });

    // Assess
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ kind: DETECTED_AS[kind], requestId, seq })]);
  });

  it.each(WHOLE_TRAIL)('reports %s from the stream archive alone', async (kind) => {
    const fixture = tampered.get(kind) as Fixture;

    const report = await verifyTrail(await localStores(archiveOf(fixture)), {
      checkReceipt: await checkerFor(fixture),
    });

    expect(report.crossChecked).toBe(false);
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: DETECTED_AS[kind],
        requestId: fixture.tampered?.requestId,
        seq: fixture.tampered?.seq,
      }),
    ]);
  });

  it.each(WHOLE_TRAIL)('reports %s from the export alone', async (kind) => {
    const fixture = tampered.get(kind) as Fixture;

    const report = await verifyTrail(await localStores(fixture.export.folder), {
      checkReceipt: await checkerFor(fixture),
    });

    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: DETECTED_AS[kind],
        requestId: fixture.tampered?.requestId,
        seq: fixture.tampered?.seq,
      }),
    ]);
  });

  it('names the file and line of a record whose hash does not match', async () => {
    const fixture = tampered.get('edited-field') as Fixture;

    const report = await verifyTrail(await localStores(archiveOf(fixture)), {
      checkReceipt: await checkerFor(fixture),
    });

    const [finding] = report.findings;
    expect(finding).toMatchObject({ file: expect.stringMatching(/\.jsonl\.gz$/), line: expect.any(Number) });
    const line = readLines(finding.file as string)[(finding.line as number) - 1];
    expect(JSON.parse(line)).toMatchObject({
      requestId: fixture.tampered?.requestId,
      seq: fixture.tampered?.seq,
    });
  });

  it('reports two different records under one (requestId, seq) as conflicting', async () => {
    // Prepare: a second archive object holding another version of a record already archived
    const copy = copyOf(clean);
    const [first] = clean.archiveFiles;
    const original = JSON.parse(readLines(first)[0]) as AuditRecord;
    const impostor = appendRecord(undefined, {
      ...eventOf(original),
      at: new Date(Date.parse(original.at) + 1).toISOString(),
    });
    const impostorFile = join(copy.dir, 'audit', 'archive', 'zz-impostor.jsonl.gz');
    writeLines(impostorFile, [
      JSON.stringify(original.seq === 0 ? impostor : { ...original, actor: { kind: 'reviewer', id: 'x' } }),
    ]);

    // Act
    const report = await verifyTrail(await localStores(join(copy.dir, 'audit', 'archive')), {
      checkReceipt: await checkerFor(clean),
    });

    // Assess
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.conflictingRecords,
        requestId: original.requestId,
        seq: original.seq,
        file: impostorFile,
        line: 1,
      }),
    ]);
  });

  it('reports an executed record without a receipt', async () => {
    // Prepare: re-seal an executed record without its receipt, in every place it is written
    const copy = copyOf(clean);
    const archived = clean.archiveFiles.flatMap((file) =>
      readLines(file).map((line, index) => ({ file, index, record: JSON.parse(line) as AuditRecord })),
    );
    const executed = archived.find(({ record }) => record.type === 'executed' && record.seq > 0);
    if (!executed) throw new Error('the fixture has no executed record');
    const previous = archived.find(
      ({ record }) =>
        record.requestId === executed.record.requestId && record.seq === executed.record.seq - 1,
    );
    const resealed = appendRecord(previous?.record, {
      ...eventOf(executed.record),
      details: detailsWithout(executed.record, 'receipt'),
    });
    for (const { file, index } of archived.filter(({ record }) => record.hash === executed.record.hash)) {
      const lines = readLines(copy.path(file));
      lines[index] = JSON.stringify(resealed);
      writeLines(copy.path(file), lines);
    }

    // Act
    const report = await verifyTrail(await localStores(join(copy.dir, 'audit', 'archive')), {
      checkReceipt: await checkerFor(clean),
    });

    // Assess
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.receiptMissing,
        requestId: executed.record.requestId,
        seq: executed.record.seq,
      }),
    ]);
  });

  describe('a simulated record (local mode: a stand-in answered)', () => {
    /** The clean fixture with one executed record re-sealed as `simulated`, with or without its receipt. */
    async function simulatedCopy(keepReceipt: boolean) {
      const copy = copyOf(clean);
      const archived = clean.archiveFiles.flatMap((file) =>
        readLines(file).map((line, index) => ({ file, index, record: JSON.parse(line) as AuditRecord })),
      );
      const executed = archived.find(({ record }) => record.type === 'executed' && record.seq > 0);
      if (!executed) throw new Error('the fixture has no executed record');
      const previous = archived.find(
        ({ record }) =>
          record.requestId === executed.record.requestId && record.seq === executed.record.seq - 1,
      );
      const resealed = appendRecord(previous?.record, {
        ...eventOf(executed.record),
        type: 'simulated',
        details: keepReceipt ? (executed.record.details ?? {}) : detailsWithout(executed.record, 'receipt'),
      });
      for (const { file, index } of archived.filter(({ record }) => record.hash === executed.record.hash)) {
        const lines = readLines(copy.path(file));
        lines[index] = JSON.stringify(resealed);
        writeLines(copy.path(file), lines);
      }
      const report = await verifyTrail(await localStores(join(copy.dir, 'audit', 'archive')), {
        checkReceipt: await checkerFor(clean),
      });
      return { report, executed: executed.record };
    }

    it('has its receipt checked as an executed record has', async () => {
      const { report } = await simulatedCopy(true);

      expect(report.findings).toEqual([]);
    });

    it('is reported when it carries no receipt', async () => {
      const { report, executed } = await simulatedCopy(false);

      expect(report.findings).toEqual([
        expect.objectContaining({
          kind: FINDING.receiptMissing,
          requestId: executed.requestId,
          seq: executed.seq,
        }),
      ]);
    });
  });

  it('reports a request that went quiet without a terminal record long before the newest record', async () => {
    const fixture = await smallFixture({ openRequests: 0 });
    const requestId = 'req-stalled';
    const stalled = appendRecord(undefined, {
      requestId,
      at: '2026-10-01T00:00:00.000Z',
      type: 'requested',
      actor: { kind: 'agent', id: 'etl-pipeline' },
    });
    writeLines(join(fixture.dir, 'audit', 'archive', 'stalled.jsonl.gz'), [JSON.stringify(stalled)]);

    const report = await verifyTrail(await localStores(archiveOf(fixture)), {
      checkReceipt: await checkerFor(fixture),
    });

    expect(report.findings).toEqual([
      expect.objectContaining({ kind: FINDING.unterminated, requestId, seq: 0 }),
    ]);
  });

  it('counts receipts as skipped, and reports none, without a receipt check', async () => {
    const fixture = tampered.get('forged-receipt') as Fixture;

    const report = await verifyTrail(await localStores(fixture.dir));

    expect(report).toMatchObject({ ok: true, receipts: 'skipped' });
  });

  it('lists at most maxFindings findings and counts the rest', async () => {
    // Every receipt is invalid under a key that did not sign them.
    const other = tampered.get('edited-field') as Fixture;

    const report = await verifyTrail(await localStores(archiveOf(clean)), {
      checkReceipt: await checkerFor(other),
      maxFindings: 2,
    });

    expect(report.findings).toHaveLength(2);
    expect(report.findingsOmitted).toBe(report.counts[FINDING.receiptInvalid] - 2);
  });

  it('verifies records that arrive out of order', async () => {
    // Prepare: one archive object with every record of the trail, newest first
    const dir = tempDir();
    const records = clean.archiveFiles.flatMap(readLines).reverse();
    writeLines(join(dir, 'reversed.jsonl.gz'), records);

    const report = await verifyTrail(await localStores(dir), { checkReceipt: await checkerFor(clean) });

    expect(report).toMatchObject({ ok: true, records: clean.records });
  });
});

describe('Function: verifyTrail on worker threads', () => {
  /** The reports of verifying on two worker threads and on this thread alone, at once. */
  const bothWays = async (fixture: Fixture, dir = fixture.dir) => {
    const stores = await localStores(dir);
    const checkReceipt = await checkerFor(fixture);
    return Promise.all([
      verifyTrail(stores, { checkReceipt, threads: 2 }),
      verifyTrail(stores, { checkReceipt, threads: 0 }),
    ]);
  };

  it.each(TAMPERINGS)('finds %s exactly as one thread does', async (kind) => {
    const fixture = tampered.get(kind) as Fixture;

    const [onThreads, oneThread] = await bothWays(fixture);

    expect(onThreads.counts[DETECTED_AS[kind]]).toBeGreaterThan(0);
    expect(onThreads).toEqual(oneThread);
  });

  it('names the same files and lines of damaged input as one thread does', async () => {
    const copy = copyOf(clean);
    const [first, second] = clean.archiveFiles.map(copy.path);
    const truncated = readFileSync(first);
    writeFileSync(first, truncated.subarray(0, Math.floor(truncated.length / 2)));
    writeLines(second, [...readLines(second), 'not json', `{"requestId":"x","seq":${2 ** 60}}`]);
    const [dataFile] = clean.export.dataFiles.map(copy.path);
    writeFileSync(dataFile, gzipSync('{"Item":{"seq":{"N":"1e400"}}}\n'));

    const [onThreads, oneThread] = await bothWays(clean, copy.dir);

    expect(onThreads.counts[FINDING.inputError]).toBeGreaterThanOrEqual(4);
    expect(onThreads).toEqual(oneThread);
  });
});
