import * as dynamodb from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';
import { DynamoDbLocalTables, type ExportableTables } from './exportable-tables';
import { ALLOW_EVERYTHING, isAllowed, type PolicyDocument } from './iam-simulator';
import type { LocalSts, MintedSession } from './local-sts';

/** A refused or failed call, in the terms the service's protocol uses. */
export class TargetError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/**
 * What an executed action reaches in local mode. Every call must be made with keys the local STS
 * minted, and is authorized by the IAM policy simulator against the execution role's policy and
 * that session's policy before it runs: the same evaluation AWS would make. DynamoDB exports (of
 * DynamoDB Local's tables, or the in-memory ones without Java) land in a folder, laid out as AWS lays them out in S3; S3 objects are read from a folder.
 */
export class LocalTargets {
  constructor(
    private readonly sts: LocalSts,
    private readonly tables: ExportableTables,
    private readonly dataDir: string,
    private readonly roleIdentityPolicy: PolicyDocument = ALLOW_EVERYTHING,
  ) {}

  async exportTable(
    accessKeyId: string | undefined,
    body: Record<string, unknown>,
    now: Date,
  ): Promise<unknown> {
    const session = this.sessionOf(accessKeyId);
    const tableArn = String(body.TableArn ?? '');
    const bucket = String(body.S3Bucket ?? '');
    const prefix = String(body.S3Prefix ?? '');
    await this.authorize(session, 'dynamodb:ExportTableToPointInTime', tableArn, now);
    const exportId = `${now.getTime()}-${randomUUID().slice(0, 8)}`;
    const exportRoot = `${prefix}AWSDynamoDB/${exportId}`;
    const dataKey = `${exportRoot}/data/${randomUUID()}.json.gz`;
    await this.authorize(session, 's3:PutObject', `arn:aws:s3:::${bucket}/${dataKey}`, now);

    let lines: string[];
    try {
      const items = await this.tables.scan(tableArn.split('/').at(-1) ?? '');
      lines = items.map((item) => JSON.stringify({ Item: item }));
    } catch (error) {
      throw new TargetError(
        400,
        'TableNotFoundException',
        `table ${tableArn} cannot be exported: ${(error as Error).message}`,
      );
    }
    const data = gzipSync(lines.map((line) => `${line}\n`).join(''));
    const exportArn = `${tableArn}/export/${exportId}`;
    await this.write(bucket, dataKey, data);
    await this.write(
      bucket,
      `${exportRoot}/manifest-files.json`,
      `${JSON.stringify({ itemCount: lines.length, md5Checksum: createHash('md5').update(data).digest('base64'), etag: createHash('md5').update(data).digest('hex'), dataFileS3Key: dataKey })}\n`,
    );
    await this.write(
      bucket,
      `${exportRoot}/manifest-summary.json`,
      JSON.stringify({
        version: '2020-06-30',
        exportArn,
        startTime: now.toISOString(),
        endTime: new Date().toISOString(),
        tableArn,
        exportTime: now.toISOString(),
        s3Bucket: bucket,
        s3Prefix: prefix,
        s3SseAlgorithm: 'AES256',
        manifestFilesS3Key: `${exportRoot}/manifest-files.json`,
        billedSizeBytes: data.length,
        itemCount: lines.length,
        outputFormat: 'DYNAMODB_JSON',
      }),
    );
    return {
      ExportDescription: {
        ExportArn: exportArn,
        ExportStatus: 'COMPLETED',
        TableArn: tableArn,
        S3Bucket: bucket,
        S3Prefix: prefix,
        ExportFormat: 'DYNAMODB_JSON',
        ItemCount: lines.length,
        StartTime: now.getTime() / 1000,
      },
    };
  }

  async getObject(accessKeyId: string | undefined, bucket: string, key: string, now: Date): Promise<Buffer> {
    const session = this.sessionOf(accessKeyId);
    await this.authorize(session, 's3:GetObject', `arn:aws:s3:::${bucket}/${key}`, now);
    try {
      return await readFile(this.pathOf(bucket, key));
    } catch {
      throw new TargetError(404, 'NoSuchKey', 'The specified key does not exist.');
    }
  }

  /**
   * Any DynamoDB action, for real against DynamoDB Local, once the simulator has authorized it on
   * the table the request names (`TableName` or `TableArn`) in the session's account. The wire
   * JSON of DynamoDB is its SDK input, so the body is sent as the command of the same name.
   */
  async dynamodb(
    accessKeyId: string | undefined,
    operation: string,
    body: Record<string, unknown>,
    now: Date,
  ): Promise<unknown> {
    const session = this.sessionOf(accessKeyId);
    const account = /::(\d{12}):/.exec(session.roleArn)?.[1] ?? '000000000000';
    const named = String(body.TableArn ?? body.TableName ?? '');
    const tableArn = named.startsWith('arn:')
      ? named
      : `arn:aws:dynamodb:${LOCAL_REGION}:${account}:table/${named}`;
    const Command = (dynamodb as unknown as Record<string, unknown>)[`${operation}Command`];
    if (!named || typeof Command !== 'function') {
      throw new TargetError(
        400,
        'UnknownOperationException',
        `dynamodb:${operation} on ${named || '(no table)'} is not available in local mode`,
      );
    }
    await this.authorize(session, `dynamodb:${operation}`, tableArn, now);
    if (!(this.tables instanceof DynamoDbLocalTables)) {
      throw new TargetError(
        400,
        'UnknownOperationException',
        `dynamodb:${operation} runs against DynamoDB Local, which needs Java: the tables are in memory in this run`,
      );
    }
    const client = new DynamoDBClient({
      endpoint: this.tables.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const input = { ...body, ...(body.TableArn ? { TableName: tableArn.split('/').at(-1) } : {}) };
      delete (input as { TableArn?: unknown }).TableArn;
      const { $metadata: _metadata, ...output } = (await client.send(
        new (Command as new (input: unknown) => Parameters<DynamoDBClient['send']>[0])(input),
      )) as unknown as Record<string, unknown>;
      return output;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'InternalServerError';
      throw new TargetError(400, name, error instanceof Error ? error.message : String(error));
    } finally {
      client.destroy();
    }
  }

  /** Where a local S3 object lives; the sample data is written here. */
  pathOf(bucket: string, key: string): string {
    const path = normalize(join(this.dataDir, 's3', bucket, key));
    if (!path.startsWith(join(this.dataDir, 's3', bucket)))
      throw new TargetError(400, 'InvalidArgument', 'key escapes the bucket');
    return path;
  }

  private async write(bucket: string, key: string, body: Buffer | string): Promise<void> {
    const path = this.pathOf(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
  }

  private sessionOf(accessKeyId: string | undefined): MintedSession {
    const session = accessKeyId ? this.sts.session(accessKeyId) : undefined;
    if (!session) {
      throw new TargetError(
        403,
        'UnrecognizedClientException',
        'only sessions minted by the local STS may call action targets',
      );
    }
    return session;
  }

  private async authorize(
    session: MintedSession,
    action: string,
    resource: string,
    now: Date,
  ): Promise<void> {
    if (now >= session.expiration)
      throw new TargetError(
        400,
        'ExpiredTokenException',
        'The security token included in the request is expired',
      );
    const allowed = await isAllowed({
      identityPolicy: this.roleIdentityPolicy,
      ...(session.sessionPolicy ? { sessionPolicy: session.sessionPolicy } : {}),
      action,
      resource,
      currentTime: now,
      account: /::(\d{12}):/.exec(session.roleArn)?.[1] ?? '000000000000',
      roleName: session.roleArn.split('/').at(-1) ?? 'ActionApprovalsExecution',
      sessionName: session.sessionName,
    });
    if (!allowed) {
      throw new TargetError(
        403,
        'AccessDeniedException',
        `${session.roleArn}/${session.sessionName} is not authorized to perform ${action} on ${resource}`,
      );
    }
  }
}
