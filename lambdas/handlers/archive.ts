import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { archiveBatch, S3ArchiveWriter } from '../adapters/archive-writer';
import { logger } from '../adapters/logger';
import { builtOnFirstUse, clientConfig, instrumented, type Environment } from './lambda-wiring';

/**
 * The AuditLog stream's consumer: each batch becomes one gzip JSON Lines object in the archive
 * bucket. A failed put throws, so Lambda retries the batch (bisecting it) and, past its retries,
 * sends the batch's position to the on-failure queue, whose depth is alarmed.
 */
export function createHandler(writer: Pick<S3ArchiveWriter, 'write'>) {
  return instrumented(async (event: DynamoDBStreamEvent): Promise<{ archived: number; key?: string }> => {
    const batch = archiveBatch(event.Records);
    if (batch.withoutImage.length > 0) {
      // The table's resource policy denies deletes; a record without a new image means it was bypassed.
      logger.error('audit stream delivered records without a new image (removed audit records?)', {
        records: batch.withoutImage,
      });
    }
    if (!batch.object) return { archived: 0 };
    await writer.write(batch.object);
    logger.info('archived audit records', { key: batch.object.key, records: batch.object.records });
    return { archived: batch.object.records, key: batch.object.key };
  });
}

export function archiveWriter(environment: Environment): S3ArchiveWriter {
  const bucket = environment.ARCHIVE_BUCKET_NAME;
  if (!bucket)
    throw new Error('archive needs ARCHIVE_BUCKET_NAME, the Object Lock bucket of the stream archive');
  return new S3ArchiveWriter(new S3Client(clientConfig(environment, 'S3')), bucket);
}

export const handler = builtOnFirstUse(async () => createHandler(archiveWriter(process.env)));
