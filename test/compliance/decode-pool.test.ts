import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DecodePool } from '../../lambdas/compliance/decode-pool';
import { decodeLines, type FactBatch, type LineFormat } from '../../lambdas/compliance/facts';
import { verifyTrail } from '../../lambdas/compliance/verify';
import { type Fixture, TAMPERINGS } from './fixtures/generator';
import { checkerFor, localStores, removeTempDirs, smallFixture } from './helpers';

const linesOf = (gzFile: string): string[] => gunzipSync(readFileSync(gzFile)).toString('utf8').split('\n');

/** A batch as plain arrays, to compare batches made on different threads. */
const plain = (batch: FactBatch) => ({
  count: batch.count,
  kinds: [...batch.kinds.subarray(0, batch.count)],
  lines: [...batch.lines.subarray(0, batch.count)],
  seqs: [...batch.seqs.subarray(0, batch.count)],
  times: [...batch.times.subarray(0, batch.count)],
  types: [...batch.types.subarray(0, batch.count)],
  sealed: [...batch.sealed.subarray(0, batch.count)],
  hashes: Buffer.from(batch.hashes.subarray(0, batch.count * 64)).toString('hex'),
  texts: batch.texts.slice(0, batch.count),
  anchors: batch.anchors.slice(0, batch.count),
});

/** The run's last line but one stands for a line too long to read. */
const oversizedOf = (lines: readonly string[]): number[] => [lines.length - 2];

let fixture: Fixture;
const tampered: Fixture[] = [];

beforeAll(async () => {
  fixture = await smallFixture({ incremental: true });
  for (const tamper of TAMPERINGS) tampered.push(await smallFixture({ tamper }));
});

afterAll(removeTempDirs);

describe('Class: DecodePool', () => {
  it('decodes lines on its workers into the same facts as on the calling thread', async () => {
    // Arrange
    const runs: [LineFormat, string[]][] = [
      ['archive', [...linesOf(fixture.archiveFiles[0]), '', 'not json']],
      ['full-export', linesOf(fixture.export.dataFiles[0])],
      ['incremental-export', linesOf(fixture.incrementalExport?.dataFiles[0] ?? '')],
    ];
    const pool = new DecodePool(2, 0);

    // Act
    const decoded = await Promise.all(
      runs.map(([format, lines]) => pool.decode(format, 3, lines, oversizedOf(lines))),
    );
    await pool.close();

    // Assess
    expect(decoded.map(plain)).toEqual(
      runs.map(([format, lines]) => plain(decodeLines(format, 3, lines, oversizedOf(lines)))),
    );
    expect(decoded.map((batch) => batch.count)).toEqual(
      runs.map(
        ([, lines]) => lines.filter((line, index) => line !== '' || index === lines.length - 2).length,
      ),
    );
  });
});

describe('Function: verifyTrail on worker threads', () => {
  it('reports the same findings, in the same order, as on one thread', async () => {
    for (const trail of [fixture, ...tampered]) {
      // Arrange
      const stores = await localStores(trail.dir);
      const checkReceipt = await checkerFor(trail);

      // Act
      const onWorkers = await verifyTrail(stores, { checkReceipt, decodeWorkers: 2, inThreadLines: 0 });
      const inThread = await verifyTrail(stores, { checkReceipt, decodeWorkers: 0 });

      // Assess
      expect(onWorkers).toEqual(inThread);
      expect(onWorkers.recordsRead).toBeGreaterThan(0);
    }
  });
});
