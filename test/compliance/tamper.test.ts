import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { appendRecord, type AuditRecord } from '../../lambdas/core/audit';
import type { ObjectStore, StoredObject } from '../../lambdas/compliance/stores';
import { FINDING, type Finding } from '../../lambdas/compliance/types';
import { verifyTrail } from '../../lambdas/compliance/verify';
import { crashInputs, eventOf, type Fixture } from './fixtures/generator';
import {
  chainOf,
  editArchive,
  editExport,
  gzLines,
  requestWith,
  rewriteChainEverywhere,
} from './fixtures/tamperer';
import { checkerFor, localStores, removeTempDirs, smallFixture } from './helpers';

afterAll(removeTempDirs);

const verify = async (fixture: Fixture, ...paths: string[]) =>
  verifyTrail(await localStores(...(paths.length > 0 ? paths : [fixture.dir])), {
    checkReceipt: await checkerFor(fixture),
  });

const kinds = (findings: readonly Finding[]): string[] => findings.map((finding) => finding.kind);

describe('A consistent rewrite of the chain (every copy, every hash recomputed)', () => {
  it('is caught when it changes only who approved: the receipt names the real approver', async () => {
    // Prepare
    const fixture = await smallFixture({ tamper: 'rewritten-approver' });
    const { requestId, seq } = fixture.tampered ?? { requestId: '', seq: -1 };

    // Act
    const report = await verify(fixture);

    // Assess
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.receiptMismatch,
        requestId,
        seq,
        reason: expect.stringContaining('mallory@example.com'),
      }),
    ]);
  });

  it('is caught when it moves the decision time', async () => {
    const fixture = await smallFixture();
    const chain = requestWith(fixture, 'executed', ['vote']);
    rewriteChainEverywhere(fixture, chain[0].requestId, (records) =>
      records.map((record) =>
        record.type === 'approved'
          ? { ...record, at: new Date(Date.parse(record.at) + 1).toISOString() }
          : record,
      ),
    );

    const report = await verify(fixture);

    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.receiptMismatch,
        requestId: chain[0].requestId,
        reason: expect.stringContaining('decidedAt'),
      }),
    ]);
  });

  it('is caught when it extends the approval’s expiry', async () => {
    const fixture = await smallFixture();
    const chain = requestWith(fixture, 'executed', ['credentials-issued']);
    rewriteChainEverywhere(fixture, chain[0].requestId, (records) =>
      records.map((record) =>
        record.type === 'credentials-issued'
          ? { ...record, details: { ...record.details, expiresAt: '2099-01-01T00:00:00.000Z' } }
          : record,
      ),
    );

    const report = await verify(fixture);

    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.receiptMismatch,
        reason: expect.stringContaining('expiresAt'),
      }),
    ]);
  });

  it('is caught when it turns an approval into a denial but keeps the execution', async () => {
    const fixture = await smallFixture();
    const chain = requestWith(fixture, 'executed', ['vote']);
    rewriteChainEverywhere(fixture, chain[0].requestId, (records) =>
      records.filter((record) => record.type !== 'approved' && record.type !== 'vote'),
    );

    const report = await verify(fixture);

    expect(kinds(report.findings)).toEqual([FINDING.receiptMismatch]);
    expect(report.findings[0].reason).toContain('no approved record');
  });

  it('cannot be caught when the request never reached execution: there is no receipt to anchor on', async () => {
    // Documented in docs/COMPLIANCE.md: a denied request's reviewer can be renamed consistently.
    const fixture = await smallFixture();
    const chain = requestWith(fixture, 'denied', ['vote']);
    rewriteChainEverywhere(fixture, chain[0].requestId, (records) =>
      records.map((record) =>
        record.type === 'vote'
          ? { ...record, actor: { kind: 'reviewer' as const, id: 'mallory@example.com' } }
          : record,
      ),
    );

    const report = await verify(fixture);

    expect(report.ok).toBe(true);
  });
});

describe('Malformed input', () => {
  let fixture: Fixture;
  let genuine: AuditRecord;

  beforeAll(async () => {
    fixture = await smallFixture();
    genuine = chainOf(fixture, requestWith(fixture, 'executed')[0].requestId)[1];
  });

  it.each(crashInputs({} as AuditRecord).map((input) => input.name))(
    'turns %s in an export and in the archive into an input error with its file and line',
    async (name) => {
      // Prepare
      const dir = (await smallFixture({ size: { requests: 4 }, openRequests: 0 })).dir;
      const input = crashInputs(genuine).find((candidate) => candidate.name === name);
      if (!input) throw new Error(`no crash input named ${name}`);
      const archiveFile = join(dir, 'audit', 'archive', 'crash.jsonl.gz');
      writeFileSync(archiveFile, gzipSync(`${input.archiveLine}\n`));
      writeExport(join(dir, 'crash-export'), [input.exportLine]);

      // Act
      const report = await verifyTrail(await localStores(archiveFile, join(dir, 'crash-export')));

      // Assess
      expect(report.ok).toBe(false);
      expect(report.findings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: FINDING.inputError, file: archiveFile, line: 1 }),
          expect.objectContaining({
            kind: FINDING.inputError,
            file: join(dir, 'crash-export', 'data', 'part-0.json.gz'),
            line: 1,
          }),
        ]),
      );
    },
  );
});

/** A minimal full export holding `lines` in one data file, with a manifest that matches them. */
function writeExport(
  folder: string,
  lines: readonly string[],
  summaryExtra: Record<string, unknown> = {},
): void {
  const data = lines.length === 0 ? Buffer.alloc(0) : gzipSync(`${lines.join('\n')}\n`);
  mkdirSync(join(folder, 'data'), { recursive: true });
  writeFileSync(join(folder, 'data', 'part-0.json.gz'), data);
  writeFileSync(
    join(folder, 'manifest-files.json'),
    `${JSON.stringify({ itemCount: lines.length, dataFileS3Key: 'AWSDynamoDB/x/data/part-0.json.gz' })}\n`,
  );
  writeFileSync(
    join(folder, 'manifest-summary.json'),
    JSON.stringify({
      exportTime: '2026-11-03T00:00:00.000Z',
      manifestFilesS3Key: 'AWSDynamoDB/x/manifest-files.json',
      itemCount: lines.length,
      outputFormat: 'DYNAMODB_JSON',
      ...summaryExtra,
    }),
  );
}

/** A bucket in memory, so that a property can run hundreds of trails without touching the disk. */
class MemoryStore implements ObjectStore {
  readonly location = 'memory://trail';
  constructor(private readonly objects: ReadonlyMap<string, Buffer>) {}
  displayName(key: string): string {
    return `memory://trail/${key}`;
  }
  async *list(): AsyncIterable<StoredObject> {
    for (const [key, body] of [...this.objects].sort(([a], [b]) => (a < b ? -1 : 1)))
      yield { key, size: body.length };
  }
  async open(key: string): Promise<Readable> {
    const body = this.objects.get(key);
    if (!body) throw new Error('does not exist');
    return Readable.from([body]);
  }
}

const attributeValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ value: AttributeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string().map((S) => ({ S })),
    fc
      .oneof(
        fc.double().map(String),
        fc.bigInt().map(String),
        fc.constantFrom('1e400', '-1e400', 'NaN', 'Infinity', '', '0x10', '1_000', '9007199254740993'),
        fc.string(),
      )
      .map((N) => ({ N })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.constant({ NULL: true as const }),
    fc.array(fc.string(), { maxLength: 3 }).map((SS) => ({ SS })),
    fc.array(fc.string(), { maxLength: 3 }).map((NS) => ({ NS })),
    fc.base64String().map((B) => ({ B: Buffer.from(B, 'base64') })),
    fc.array(tie('value'), { maxLength: 3 }).map((L) => ({ L })),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }).map((M) => ({ M })),
  ),
})).value;

describe('Property: audit verify over arbitrary DynamoDB JSON lines', () => {
  let base: Record<string, AttributeValue>;
  let record: AuditRecord;

  beforeAll(async () => {
    const fixture = await smallFixture({ size: { requests: 8 } });
    record = chainOf(fixture, requestWith(fixture, 'executed')[0].requestId)[0];
    base = marshall(record, { removeUndefinedValues: true });
  });

  const item = (): fc.Arbitrary<string> =>
    fc.oneof(
      // A genuine item with one attribute replaced or added.
      fc
        .tuple(fc.constantFrom(...Object.keys(base), 'extra', '__proto__'), attributeValue)
        .map(([key, value]) =>
          JSON.stringify({ Item: { ...base, [key]: value } }, (_k, v: unknown) =>
            v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
          ),
        ),
      // Anything at all in DynamoDB JSON's clothes.
      fc
        .dictionary(fc.string(), attributeValue, { maxKeys: 5 })
        .map((Item) =>
          JSON.stringify({ Item }, (_k, v: unknown) =>
            v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
          ),
        ),
      fc.json().map((json) => `{"Item":${json}}`),
      fc.string({ minLength: 1 }).filter((line) => line.trim() !== '' && !line.includes('\n')),
    );

  it('returns findings, with a file and line for each bad line, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(item(), { minLength: 1, maxLength: 4 }), async (lines) => {
        const data = gzipSync(`${lines.join('\n')}\n`);
        const objects = new Map<string, Buffer>([
          ['AWSDynamoDB/x/data/part-0.json.gz', data],
          [
            'AWSDynamoDB/x/manifest-files.json',
            Buffer.from(
              JSON.stringify({ itemCount: lines.length, dataFileS3Key: 'AWSDynamoDB/x/data/part-0.json.gz' }),
            ),
          ],
          [
            'AWSDynamoDB/x/manifest-summary.json',
            Buffer.from(
              JSON.stringify({
                exportTime: '2026-11-03T00:00:00.000Z',
                manifestFilesS3Key: 'AWSDynamoDB/x/manifest-files.json',
                itemCount: lines.length,
                outputFormat: 'DYNAMODB_JSON',
              }),
            ),
          ],
          [
            'archive/a.jsonl.gz',
            gzipSync(lines.map((line) => line.replace(/^\{"Item":/, '{"x":')).join('\n')),
          ],
        ]);

        const report = await verifyTrail([new MemoryStore(objects)]);

        expect(report.ok).toBe(false);
        for (const finding of report.findings.filter((found) => found.kind === FINDING.inputError))
          expect(finding.file).toMatch(/^memory:\/\/trail/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Exports read as what they are', () => {
  it('reports a record deleted from the table between two full exports, from the exports alone', async () => {
    // Prepare
    const fixture = await smallFixture({ tamper: 'deleted-from-table' });
    const { requestId, seq } = fixture.tampered ?? { requestId: '', seq: -1 };
    const older = fixture.olderExport as Fixture['export'];

    // Act
    const fromExports = await verify(fixture, older.folder, fixture.export.folder);
    const fromEverything = await verify(fixture);

    // Assess
    for (const report of [fromExports, fromEverything]) {
      expect(report.findings).toEqual([
        expect.objectContaining({
          kind: FINDING.deletedFromTable,
          requestId,
          seq,
          file: expect.stringContaining(older.folder),
        }),
      ]);
      expect(report.referenceExport?.file).toBe(fixture.export.summaryFile);
    }
  });

  it('takes the newest full export as the reference whatever order the exports are listed in', async () => {
    const fixture = await smallFixture({ tamper: 'deleted-from-table' });

    const report = await verify(
      fixture,
      fixture.export.folder,
      (fixture.olderExport as Fixture['export']).folder,
    );

    expect(kinds(report.findings)).toEqual([FINDING.deletedFromTable]);
  });

  it('verifies an incremental export of NewImage lines along with the full export and the archive', async () => {
    const fixture = await smallFixture({ incremental: true });

    const report = await verify(fixture);

    expect(report).toMatchObject({ ok: true, inputs: { exports: 2 } });
    expect(gzLines((fixture.incrementalExport as Fixture['export']).dataFiles[0])[0]).toContain('"NewImage"');
  });

  it('reports an item an incremental export shows overwritten, and one it shows deleted', async () => {
    // Prepare
    const fixture = await smallFixture({ incremental: true });
    const incremental = fixture.incrementalExport as Fixture['export'];
    let changed: { requestId: string; seq: number } | undefined;
    editExport(incremental, (lines, _file, index) => {
      if (index !== 0 || lines.length < 2) return lines;
      const [update, remove] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const keys = update.Keys as { requestId: { S: string }; seq: { N: string } };
      changed = { requestId: keys.requestId.S, seq: Number(keys.seq.N) };
      return [
        JSON.stringify({ ...update, OldImage: update.NewImage }),
        JSON.stringify({ Metadata: remove.Metadata, Keys: remove.Keys, OldImage: remove.NewImage }),
        ...lines.slice(2),
      ];
    });

    // Act
    const report = await verify(fixture);

    // Assess
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: FINDING.changedInTable, ...changed, line: 1 }),
        expect.objectContaining({ kind: FINDING.deletedFromTable, line: 2 }),
      ]),
    );
    expect(report.findings).toHaveLength(2);
  });

  it('refuses an export of an unknown type in one finding, not one per line', async () => {
    const fixture = await smallFixture();
    const summary = JSON.parse(readFileSync(fixture.export.summaryFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      fixture.export.summaryFile,
      JSON.stringify({ ...summary, exportType: 'DIFFERENTIAL_EXPORT' }),
    );

    const report = await verify(fixture, fixture.export.folder);

    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.inputError,
        file: fixture.export.summaryFile,
        reason: expect.stringContaining('exportType'),
      }),
    ]);
  });

  it('reports an item duplicated inside one export even when the manifest counts were adjusted', async () => {
    const fixture = await smallFixture();
    let duplicated: AuditRecord | undefined;
    editExport(fixture.export, (lines, _file, index) => {
      if (index !== 0) return lines;
      duplicated = chainOf(
        fixture,
        (JSON.parse(lines[0]) as { Item: { requestId: { S: string } } }).Item.requestId.S,
      )[0];
      return [...lines, lines[0]];
    });

    const report = await verify(fixture);

    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: FINDING.duplicatedItem,
        requestId: duplicated?.requestId,
        seq: duplicated?.seq,
        file: fixture.export.dataFiles[0],
      }),
    ]);
  });

  it('finds nothing wrong with an empty data file whose manifest entry counts 0 items', async () => {
    const fixture = await smallFixture();
    const empty = join(fixture.export.folder, 'data', 'empty-partition.json.gz');
    writeFileSync(empty, Buffer.alloc(0));
    const key = `audit/AWSDynamoDB/${fixture.export.folder.split('/').at(-1)}/data/empty-partition.json.gz`;
    writeFileSync(
      fixture.export.manifestFile,
      `${readFileSync(fixture.export.manifestFile, 'utf8')}${JSON.stringify({ itemCount: 0, md5Checksum: '1B2M2Y8AsgTpgAmY7PhCfg==', dataFileS3Key: key })}\n`,
    );

    const report = await verify(fixture);

    expect(report).toMatchObject({ ok: true, findings: [] });
  });
});

describe('Empty files', () => {
  it('reports an empty stream-archive object, which the stream never writes', async () => {
    const fixture = await smallFixture();
    const [emptied] = fixture.archiveFiles;
    writeFileSync(emptied, Buffer.alloc(0));

    const report = await verify(fixture, join(fixture.dir, 'audit', 'archive'));

    expect(report.findings).toContainEqual(
      expect.objectContaining({ kind: FINDING.inputError, file: emptied, line: 1 }),
    );
  });
});

describe('Findings readable at scale', () => {
  it('says which of two conflicting copies is self-consistent', async () => {
    // Prepare: the export's copy of a record is edited and not re-sealed
    const fixture = await smallFixture();
    const [victim] = requestWith(fixture, 'executed');
    editExport(fixture.export, (lines) =>
      lines.map((line) =>
        line.includes(victim.requestId) && line.includes('"seq":{"N":"0"}')
          ? line.replace(victim.actor.id, 'someone-else')
          : line,
      ),
    );

    // Act
    const report = await verify(fixture);

    // Assess
    const conflict = report.findings.find((finding) => finding.kind === FINDING.conflictingRecords);
    // The export is listed (and read) first; the archive's genuine copy is the one found conflicting with it.
    expect(conflict?.reason).toMatch(
      /this copy is self-consistent; the hash of the copy at \S+\/data\/\S+\.json\.gz:\d+ does not match its content/,
    );
  });

  it('reports both copies as self-consistent when the edited one was re-sealed', async () => {
    const fixture = await smallFixture();
    const [victim] = requestWith(fixture, 'executed');
    const resealed = appendRecord(undefined, {
      ...eventOf(victim),
      actor: { kind: 'agent', id: 'someone-else' },
    });
    editExport(fixture.export, (lines) =>
      lines.map((line) =>
        line.includes(victim.requestId) && line.includes('"seq":{"N":"0"}')
          ? JSON.stringify({ Item: marshall(resealed) })
          : line,
      ),
    );
    editArchive(join(fixture.dir, 'audit', 'archive'), (lines) => lines);

    const report = await verify(fixture);

    const conflict = report.findings.find((finding) => finding.kind === FINDING.conflictingRecords);
    expect(conflict?.reason).toContain('both copies are self-consistent');
  });
});
