import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { AuditRecord } from '../core/audit';

/** Where archive objects go under the bucket; the compliance CLI reads every `*.jsonl.gz` below it. */
export const ARCHIVE_PREFIX = 'archive/';

/** One S3 object of the stream archive, ready to put. */
export interface ArchiveObject {
  /** `archive/year=YYYY/month=MM/day=DD/<ISO timestamp>-<batchId>.jsonl.gz` */
  readonly key: string;
  /** Gzip of JSON Lines: one AuditRecord, as plain JSON, per line. */
  readonly body: Uint8Array;
  /** Base64 SHA-256 of `body`: sent as x-amz-checksum-sha256, which Object Lock buckets require. */
  readonly checksumSha256: string;
  /** How many records the object holds. */
  readonly records: number;
}

/** What a batch of stream records turned into. */
export interface ArchiveBatch {
  /** Undefined when the batch held no record to archive. */
  readonly object: ArchiveObject | undefined;
  /**
   * Stream records that carried no new image: REMOVE events, which the table's resource policy
   * forbids. They cannot be written as audit records, so the caller must raise them loudly.
   */
  readonly withoutImage: readonly { readonly eventID?: string; readonly eventName?: string }[];
}

/**
 * Turns one batch of AuditLog stream records into one archive object. The key is derived from the
 * batch itself (its first record's time, a digest of its event ids), so a retried batch writes the
 * same key again: Object Lock keeps both versions, and readers of the current version see the same
 * records once.
 *
 * @param fallbackTime used only when the first record carries no ApproximateCreationDateTime.
 */
export function archiveBatch(
  records: readonly DynamoDBRecord[],
  fallbackTime: Date = new Date(),
): ArchiveBatch {
  const withImage = records.filter((record) => record.dynamodb?.NewImage !== undefined);
  const withoutImage = records
    .filter((record) => record.dynamodb?.NewImage === undefined)
    .map((record) => ({ eventID: record.eventID, eventName: record.eventName }));
  if (withImage.length === 0) return { object: undefined, withoutImage };

  const auditRecords = withImage.map(
    // The stream's attribute values have the shape of the SDK's; only the declared types differ.
    (record) => unmarshall(record.dynamodb?.NewImage as Record<string, AttributeValue>) as AuditRecord,
  );
  const body = gzipSync(
    Buffer.from(auditRecords.map((record) => `${JSON.stringify(record)}\n`).join(''), 'utf8'),
  );
  const seconds = withImage[0].dynamodb?.ApproximateCreationDateTime;
  const createdAt = seconds === undefined ? fallbackTime : new Date(seconds * 1000);
  const batchId = createHash('sha256')
    .update(records.map((record) => record.eventID ?? record.dynamodb?.SequenceNumber ?? '').join('\n'))
    .digest('hex')
    .slice(0, 16);
  return {
    object: {
      key: archiveKey(createdAt, batchId),
      body,
      checksumSha256: createHash('sha256').update(body).digest('base64'),
      records: auditRecords.length,
    },
    withoutImage,
  };
}

/** The object key of a batch first written at `createdAt` (UTC day partitions, for Athena and lifecycle rules). */
export function archiveKey(createdAt: Date, batchId: string): string {
  const iso = createdAt.toISOString();
  const [year, month, day] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  return `${ARCHIVE_PREFIX}year=${year}/month=${month}/day=${day}/${iso}-${batchId}.jsonl.gz`;
}

/** Puts archive objects into the Object Lock bucket; the bucket's default retention locks each version. */
export class S3ArchiveWriter {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async write(object: ArchiveObject): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: object.key,
        Body: object.body,
        // Not Content-Encoding: readers get the gzip bytes as stored and decompress them themselves.
        ContentType: 'application/x-ndjson',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: object.checksumSha256,
      }),
    );
  }
}
