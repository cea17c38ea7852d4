import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3Store, storeFor } from '../../lambdas/compliance/stores';
import { FINDING } from '../../lambdas/compliance/types';
import { verifyTrail } from '../../lambdas/compliance/verify';
import type { Fixture } from './fixtures/generator';
import { checkerFor, removeTempDirs, smallFixture } from './helpers';

const s3 = mockClient(S3Client);
const BUCKET = 'audit-archive-123456789012';
const PAGE_SIZE = 10;

let fixture: Fixture;
/** The fixture as a bucket: key → bytes, keys as they would be under the fixture's prefix. */
let objects: Map<string, Buffer>;

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)],
  );

// The SDK's streaming body is a Node Readable in Node; the mixin's extra methods are not used.
const body = (bytes: Buffer): GetObjectCommandOutput['Body'] =>
  Readable.from([bytes]) as unknown as GetObjectCommandOutput['Body'];

/** Serves `objects` through the mocked client, a page of PAGE_SIZE keys at a time. */
function serveBucket(): void {
  s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string; ContinuationToken?: string }) => {
    const keys = [...objects.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).sort();
    const start = input.ContinuationToken
      ? Number(input.ContinuationToken.replace('page-', '')) * PAGE_SIZE
      : 0;
    const page = keys.slice(start, start + PAGE_SIZE);
    const more = start + PAGE_SIZE < keys.length;
    return {
      Contents: page.map((Key) => ({ Key, Size: objects.get(Key)?.length })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: `page-${start / PAGE_SIZE + 1}` } : {}),
    };
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const bytes = objects.get(input.Key);
    if (!bytes) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
    return { Body: body(bytes) };
  });
}

beforeAll(async () => {
  fixture = await smallFixture();
  objects = new Map(
    walk(join(fixture.dir, 'audit')).map((path) => [
      relative(fixture.dir, path).split(sep).join('/'),
      readFileSync(path),
    ]),
  );
});

afterEach(() => {
  s3.reset();
});

afterAll(removeTempDirs);

describe('Class: S3Store', () => {
  it('lists a prefix page by page with ListObjectsV2, following the continuation token', async () => {
    // Prepare
    serveBucket();
    const store = new S3Store(new S3Client({}), BUCKET, 'audit/archive/');

    // Act
    const keys: string[] = [];
    for await (const { key } of store.list()) keys.push(key);

    // Assess
    const expected = [...objects.keys()].filter((key) => key.startsWith('audit/archive/')).sort();
    expect(keys).toEqual(expected);
    const pages = Math.ceil(expected.length / PAGE_SIZE);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual(
      Array.from({ length: pages }, (_, page) => ({
        Bucket: BUCKET,
        Prefix: 'audit/archive/',
        ContinuationToken: page === 0 ? undefined : `page-${page}`,
      })),
    );
  });

  it('turns NoSuchKey into "does not exist"', async () => {
    serveBucket();
    const store = new S3Store(new S3Client({}), BUCKET, '');

    await expect(store.open('audit/nope.jsonl.gz')).rejects.toThrow('does not exist');
  });
});

describe('Function: storeFor', () => {
  it('refuses an s3:// location without a bucket', async () => {
    await expect(storeFor('s3://', async () => new S3Client({}))).resolves.toEqual({
      ok: false,
      error: 's3://: expected s3://bucket/prefix',
    });
  });
});

describe('Function: verifyTrail on s3:// inputs', () => {
  it('reads the archive and the export through ListObjectsV2 and GetObject and verifies them', async () => {
    // Prepare
    serveBucket();
    const store = await storeFor(`s3://${BUCKET}/audit/`, async () => new S3Client({ region: 'us-east-1' }));
    if (!store.ok) throw new Error(store.error);

    // Act
    const report = await verifyTrail([store.value], { checkReceipt: await checkerFor(fixture) });

    // Assess
    expect(report).toMatchObject({ ok: true, records: fixture.records, crossChecked: true });
    const exportKey = (path: string) => relative(fixture.dir, path).split(sep).join('/');
    const fetched = s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input);
    expect(fetched).toEqual(
      expect.arrayContaining([
        { Bucket: BUCKET, Key: exportKey(fixture.export.summaryFile) },
        { Bucket: BUCKET, Key: exportKey(fixture.export.manifestFile) },
        ...fixture.export.dataFiles.map((file) => ({ Bucket: BUCKET, Key: exportKey(file) })),
        ...fixture.archiveFiles.map((file) => ({ Bucket: BUCKET, Key: exportKey(file) })),
      ]),
    );
    // Every object is fetched once; checksums and _started are never read.
    expect(fetched).toHaveLength(2 + fixture.export.dataFiles.length + fixture.archiveFiles.length);
  });

  it('reports a prefix it may not list as an input error', async () => {
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'Access Denied',
        $metadata: {},
      }),
    );
    const store = new S3Store(new S3Client({}), BUCKET, 'audit/');

    const report = await verifyTrail([store]);

    expect(report.findings).toEqual([
      { kind: FINDING.inputError, file: `s3://${BUCKET}/audit/`, reason: 'cannot list: Access Denied' },
    ]);
  });
});
