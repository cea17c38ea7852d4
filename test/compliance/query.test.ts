import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { AuditRecord } from '../../lambdas/core/audit';
import { queryTrail } from '../../lambdas/compliance/query';
import type { Fixture } from './fixtures/generator';
import { localStores, removeTempDirs, smallFixture } from './helpers';

let fixture: Fixture;
/** Every record of the fixture, read without the code under test. */
let records: AuditRecord[];

const ofType = (type: AuditRecord['type']) => records.filter((record) => record.type === type);
const ids = (list: readonly AuditRecord[]) => new Set(list.map((record) => record.requestId));

beforeAll(async () => {
  fixture = await smallFixture({ size: { requests: 120 } });
  const lines = fixture.archiveFiles.flatMap((file) =>
    gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n'),
  );
  records = [
    ...new Map(
      lines
        .map((line) => JSON.parse(line) as AuditRecord)
        .map((record) => [`${record.requestId}#${record.seq}`, record]),
    ).values(),
  ];
});

afterAll(removeTempDirs);

describe('Function: queryTrail', () => {
  it('returns one row per request, in the order they were requested', async () => {
    const { rows, problems } = await queryTrail(await localStores(fixture.dir), {});

    expect(problems).toEqual([]);
    expect(rows).toHaveLength(fixture.requests);
    expect(rows.map((row) => Date.parse(row.requestedAt))).toEqual(
      rows.map((row) => Date.parse(row.requestedAt)).sort((a, b) => a - b),
    );
  });

  it('finds every action by one agent', async () => {
    const { rows } = await queryTrail(await localStores(fixture.dir), { agent: 'INFRA-BOT' });

    const expected = ids(records.filter((record) => record.seq === 0 && record.actor.id === 'infra-bot'));
    expect(new Set(rows.map((row) => row.requestId))).toEqual(expected);
    expect(rows.every((row) => row.agent === 'infra-bot')).toBe(true);
  });

  it('finds every request a reviewer voted on, with the votes in order', async () => {
    const { rows } = await queryTrail(await localStores(fixture.dir), { reviewer: 'alice@example.com' });

    expect(new Set(rows.map((row) => row.requestId))).toEqual(
      ids(ofType('vote').filter((record) => record.actor.id === 'alice@example.com')),
    );
    expect(rows.every((row) => row.votes.some((vote) => vote.reviewer === 'alice@example.com'))).toBe(true);
  });

  it('finds denials and expiries', async () => {
    const { rows } = await queryTrail(await localStores(fixture.dir), { outcomes: ['denied', 'expired'] });

    expect(new Set(rows.map((row) => row.requestId))).toEqual(
      ids([...ofType('denied'), ...ofType('expired')]),
    );
  });

  it('finds requests still in flight as open', async () => {
    const { rows } = await queryTrail(await localStores(fixture.dir), { outcomes: ['open'] });

    expect(rows).toHaveLength(2);
  });

  it('shows refused self-approval attempts', async () => {
    const { rows } = await queryTrail(await localStores(fixture.dir), {});

    const refused = ofType('vote').filter((record) => record.details?.counted === false);
    expect(rows.flatMap((row) => row.votes.filter((vote) => vote.refused))).toHaveLength(refused.length);
  });

  it('matches operation and resource patterns with *', async () => {
    const { rows } = await queryTrail(await localStores(fixture.dir), {
      operation: 'IAM:*',
      resource: 'arn:aws:iam::*:role/*',
    });

    const expected = ids(
      ofType('requested').filter((record) => String(record.details?.operation).startsWith('iam:')),
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((row) => row.requestId))).toEqual(expected);
  });

  it('keeps requests made in [since, until)', async () => {
    const times = ofType('requested')
      .map((record) => Date.parse(record.at))
      .sort((a, b) => a - b);
    const [since, until] = [times[10], times[20]];

    const { rows } = await queryTrail(await localStores(fixture.dir), {
      since,
      until,
      outcomes: ['executed', 'failed', 'denied', 'expired', 'open'],
    });

    expect(rows).toHaveLength(10);
  });

  it('counts a record read from both the archive and the export once', async () => {
    const archiveOnly = await queryTrail(await localStores(`${fixture.dir}/audit/archive`), {});
    const both = await queryTrail(await localStores(fixture.dir), {});

    expect(both.rows).toEqual(archiveOnly.rows);
  });
});
