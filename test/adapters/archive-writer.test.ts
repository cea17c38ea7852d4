import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { archiveBatch, archiveKey, S3ArchiveWriter } from '../../lambdas/adapters/archive-writer';
import { parseArchiveLine } from '../../lambdas/compliance/record';
import { handler } from '../../lambdas/handlers/archive';
import { appendRecords, verifyChain, type AuditRecord } from '../../lambdas/core/audit';

const s3 = mockClient(S3Client);

const chain: AuditRecord[] = appendRecords(undefined, [
  {
    requestId: 'arch-1',
    at: '2026-11-24T10:00:00.000Z',
    type: 'requested',
    actor: { kind: 'agent', id: 'reporting-bot' },
    parametersHash: 'a'.repeat(64),
    details: {
      operation: 'dynamodb:ExportTableToPointInTime',
      quorum: 2,
      nested: { list: [1, 'two', true, null] },
    },
  },
  {
    requestId: 'arch-1',
    at: '2026-11-24T10:00:00.001Z',
    type: 'policy-evaluated',
    actor: { kind: 'system', id: 'evaluate' },
    parametersHash: 'a'.repeat(64),
    details: { outcome: 'require-approval' },
  },
  {
    requestId: 'arch-1',
    at: '2026-11-24T10:05:00.000Z',
    type: 'denied',
    actor: { kind: 'reviewer', id: 'bob@example.com' },
  },
]);

type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/** A stream record as Lambda delivers it for an insert into the AuditLog table. */
function inserted(record: AuditRecord, sequence: number, seconds = 1_795_521_600): DynamoDBRecord {
  return {
    eventID: `event-${sequence}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: seconds,
      // The SDK's and the stream's attribute value types differ in declaration only.
      Keys: marshall({ requestId: record.requestId, seq: record.seq }) as StreamImage,
      NewImage: marshall(record, { removeUndefinedValues: true }) as StreamImage,
      SequenceNumber: String(1000 + sequence),
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

function lines(body: Uint8Array): string[] {
  return gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
}

describe('Function: archiveBatch', () => {
  it('writes one gzip JSON Lines object holding each record as plain JSON, in stream order', () => {
    // Prepare
    const records = chain.map((record, index) => inserted(record, index));

    // Act
    const { object, withoutImage } = archiveBatch(records);

    // Assess
    expect(withoutImage).toEqual([]);
    expect(object?.records).toBe(3);
    const parsed = lines(object!.body).map((line) => parseArchiveLine(line));
    expect(parsed.every((result) => result.ok)).toBe(true);
    const archived = parsed.map((result) => (result.ok ? result.value : undefined)) as AuditRecord[];
    expect(archived).toEqual(chain);
    expect(verifyChain(archived)).toEqual({ ok: true, records: 3 });
  });

  it('names the object by the first record’s time and a digest of the batch', () => {
    const { object } = archiveBatch(chain.map((record, index) => inserted(record, index)));

    expect(object?.key).toMatch(
      /^archive\/year=2026\/month=11\/day=24\/2026-11-24T12:00:00\.000Z-[0-9a-f]{16}\.jsonl\.gz$/,
    );
    expect(archiveKey(new Date('2027-01-05T23:59:59.999Z'), 'abcdef0123456789')).toBe(
      'archive/year=2027/month=01/day=05/2027-01-05T23:59:59.999Z-abcdef0123456789.jsonl.gz',
    );
  });

  it('gives a retried batch the same key, and another batch another key', () => {
    const batch = chain.map((record, index) => inserted(record, index));

    const first = archiveBatch(batch).object;
    const retried = archiveBatch(batch).object;
    const other = archiveBatch(batch.slice(1)).object;

    expect(retried?.key).toBe(first?.key);
    expect(other?.key).not.toBe(first?.key);
  });

  it('carries the SHA-256 of the body, base64, for the x-amz-checksum-sha256 header', () => {
    const { object } = archiveBatch([inserted(chain[0], 0)]);

    expect(object?.checksumSha256).toBe(createHash('sha256').update(object!.body).digest('base64'));
  });

  it('reports stream records without a new image instead of archiving them, and writes nothing for an empty batch', () => {
    const removed: DynamoDBRecord = {
      eventID: 'event-9',
      eventName: 'REMOVE',
      dynamodb: { SequenceNumber: '9' },
    };

    const mixed = archiveBatch([inserted(chain[0], 0), removed]);
    const onlyRemoved = archiveBatch([removed]);

    expect(mixed.object?.records).toBe(1);
    expect(mixed.withoutImage).toEqual([{ eventID: 'event-9', eventName: 'REMOVE' }]);
    expect(onlyRemoved.object).toBeUndefined();
    expect(archiveBatch([]).object).toBeUndefined();
  });
});

describe('Class: S3ArchiveWriter', () => {
  afterEach(() => s3.reset());

  describe('Method: write', () => {
    it('puts the object with its checksum, as Object Lock buckets require', async () => {
      // Prepare
      s3.on(PutObjectCommand).resolves({ VersionId: 'v1' });
      const { object } = archiveBatch([inserted(chain[0], 0)]);

      // Act
      await new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), 'audit-archive').write(object!);

      // Assess
      expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
      expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
        Bucket: 'audit-archive',
        Key: object!.key,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: object!.checksumSha256,
        ContentType: 'application/x-ndjson',
      });
    });

    it('throws when S3 refuses the put, so Lambda retries the batch', async () => {
      s3.on(PutObjectCommand).rejects(new Error('AccessDenied'));
      const { object } = archiveBatch([inserted(chain[0], 0)]);

      await expect(
        new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), 'audit-archive').write(object!),
      ).rejects.toThrow('AccessDenied');
    });
  });
});

describe('Handler: archive', () => {
  const environment = process.env.ARCHIVE_BUCKET_NAME;
  beforeAll(() => {
    process.env.ARCHIVE_BUCKET_NAME = 'audit-archive';
  });
  afterAll(() => {
    process.env.ARCHIVE_BUCKET_NAME = environment;
  });
  afterEach(() => s3.reset());

  it('archives a stream batch to the bucket named by ARCHIVE_BUCKET_NAME', async () => {
    s3.on(PutObjectCommand).resolves({});
    const event: DynamoDBStreamEvent = { Records: chain.map((record, index) => inserted(record, index)) };

    const result = await handler(event);

    expect(result).toEqual({ archived: 3, key: expect.stringMatching(/^archive\/year=2026\//) });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'audit-archive', Key: result.key });
  });

  it('puts nothing for a batch of removals', async () => {
    await expect(
      handler({ Records: [{ eventID: 'e', eventName: 'REMOVE', dynamodb: {} }] }),
    ).resolves.toEqual({ archived: 0 });
    expect(s3).not.toHaveReceivedAnyCommand();
  });
});
