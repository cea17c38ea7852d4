import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { DynamoDBClient, ExportTableToPointInTimeCommand } from '@aws-sdk/client-dynamodb';
import { AttachRolePolicyCommand, DetachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { SdkActionExecutor } from '../../lambdas/adapters/executors';
import type { DeliveryLimits, SessionCredentials } from '../../lambdas/app/ports';
import { planAction, type ActionPlan } from '../../lambdas/core/catalog';

const dynamodb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const iam = mockClient(IAMClient);
const lambda = mockClient(LambdaClient);

const TABLE = 'arn:aws:dynamodb:ap-southeast-2:111122223333:table/orders';
const FUNCTION = 'arn:aws:lambda:eu-central-1:111122223333:function:billing';
const ROLE = 'arn:aws:iam::111122223333:role/service/billing-worker';
const OBJECT = 'arn:aws:s3:::reports-bucket/2026/q3/revenue.csv';

const credentials: SessionCredentials = {
  accessKeyId: 'ASIASESSIONKEY',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET',
  sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN',
  expiration: new Date('2030-01-01T00:15:00Z'),
};

const executor = new SdkActionExecutor({ defaultRegion: 'eu-west-1' });

/** An approval that ends ten minutes from now; the session outlives it. */
const NOW = new Date('2030-01-01T00:00:00Z');
const LIMITS: DeliveryLimits = { now: NOW, notAfter: new Date('2030-01-01T00:10:00Z') };

function plan(operation: string, resource: string, parameters: Record<string, unknown>): ActionPlan {
  const planned = planAction({ requestId: 'req-42', operation, resource, parameters });
  if (!planned.ok) throw new Error(planned.error.message);
  return planned.value;
}

/** The client a mocked call was sent through: its region and credentials are what the call used. */
async function clientOf(call: { thisValue: unknown }) {
  const client = call.thisValue as DynamoDBClient;
  return { region: await client.config.region(), credentials: await client.config.credentials() };
}

/**
 * An object body as the SDK hands it over in Node: a stream. The executor only iterates it, so a
 * plain Readable stands in for the SDK's IncomingMessage.
 */
function streamBody(
  chunks: readonly Uint8Array[],
  pulled: { count: number } = { count: 0 },
): GetObjectCommandOutput['Body'] {
  async function* generate() {
    for (const chunk of chunks) {
      pulled.count += 1;
      yield chunk;
    }
  }
  return Readable.from(generate()) as unknown as GetObjectCommandOutput['Body'];
}

describe('Class: SdkActionExecutor', () => {
  afterEach(() => {
    dynamodb.reset();
    s3.reset();
    iam.reset();
    lambda.reset();
    jest.restoreAllMocks();
  });

  describe('dynamodb:ExportTableToPointInTime', () => {
    it('exports the approved table with the session’s credentials in the table’s region', async () => {
      // Prepare
      dynamodb.on(ExportTableToPointInTimeCommand).resolves({
        ExportDescription: {
          ExportArn: `${TABLE}/export/01234567890123-abcdefgh`,
          ExportStatus: 'IN_PROGRESS',
          ExportTime: new Date('2026-11-24T10:00:00Z'),
          ExportFormat: 'DYNAMODB_JSON',
          S3Bucket: 'exports',
          S3Prefix: 'orders/req-42/',
        },
      });
      const destroy = jest.spyOn(DynamoDBClient.prototype, 'destroy');

      // Act
      const result = await executor.run(
        plan('dynamodb:ExportTableToPointInTime', TABLE, {
          S3Bucket: 'exports',
          S3Prefix: 'orders/req-42/',
          ExportTime: '2026-11-24T09:00:00Z',
        }),
        credentials,
        LIMITS,
      );

      // Assess
      expect(result).toEqual({
        ok: true,
        value: {
          recorded: {
            exportArn: `${TABLE}/export/01234567890123-abcdefgh`,
            exportStatus: 'IN_PROGRESS',
            exportTime: '2026-11-24T10:00:00.000Z',
            exportFormat: 'DYNAMODB_JSON',
            s3Bucket: 'exports',
            s3Prefix: 'orders/req-42/',
          },
          delivered: {
            exportArn: `${TABLE}/export/01234567890123-abcdefgh`,
            exportStatus: 'IN_PROGRESS',
            exportTime: '2026-11-24T10:00:00.000Z',
            exportFormat: 'DYNAMODB_JSON',
            s3Bucket: 'exports',
            s3Prefix: 'orders/req-42/',
          },
        },
      });
      expect(dynamodb).toHaveReceivedCommandTimes(ExportTableToPointInTimeCommand, 1);
      const [call] = dynamodb.commandCalls(ExportTableToPointInTimeCommand);
      expect(call.args[0].input).toEqual({
        TableArn: TABLE,
        ClientToken: 'req-42',
        S3Bucket: 'exports',
        S3Prefix: 'orders/req-42/',
        ExportTime: new Date('2026-11-24T09:00:00Z'),
      });
      await expect(clientOf(call)).resolves.toEqual({
        region: 'ap-southeast-2',
        credentials: expect.objectContaining({
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          sessionToken: credentials.sessionToken,
        }),
      });
      expect(destroy).toHaveBeenCalledTimes(1);
    });

    it('builds a new client for every execution, so no credentials stay cached', async () => {
      dynamodb
        .on(ExportTableToPointInTimeCommand)
        .resolves({ ExportDescription: { ExportArn: 'arn', ExportStatus: 'IN_PROGRESS' } });
      const exportPlan = plan('dynamodb:ExportTableToPointInTime', TABLE, { S3Bucket: 'exports' });

      await executor.run(exportPlan, credentials, LIMITS);
      await executor.run(exportPlan, { ...credentials, accessKeyId: 'ASIASECONDSESSION' }, LIMITS);

      const [first, second] = dynamodb.commandCalls(ExportTableToPointInTimeCommand);
      expect(first.thisValue).not.toBe(second.thisValue);
      expect((await clientOf(second)).credentials.accessKeyId).toBe('ASIASECONDSESSION');
    });

    it('turns an SDK error into a failure with its name, message and request id, and no secrets', async () => {
      // Prepare
      dynamodb.on(ExportTableToPointInTimeCommand).rejects(
        Object.assign(
          new Error(
            `PITR is not enabled; signed with ${credentials.secretAccessKey} and ${credentials.sessionToken}`,
          ),
          {
            name: 'PointInTimeRecoveryUnavailableException',
            $metadata: { httpStatusCode: 400, requestId: 'AWSREQ123' },
          },
        ),
      );
      const destroy = jest.spyOn(DynamoDBClient.prototype, 'destroy');

      // Act
      const result = await executor.run(
        plan('dynamodb:ExportTableToPointInTime', TABLE, { S3Bucket: 'exports' }),
        credentials,
        LIMITS,
      );

      // Assess
      expect(result).toEqual({
        ok: false,
        error: {
          name: 'PointInTimeRecoveryUnavailableException',
          message: 'PITR is not enabled; signed with [redacted] and [redacted]',
          awsRequestId: 'AWSREQ123',
        },
      });
      expect(destroy).toHaveBeenCalledTimes(1);
    });
  });

  describe('s3:GetObject', () => {
    it('describes the object it read by digest, size and type, and hands the agent a pre-signed URL', async () => {
      const body = 'region,revenue\nemea,42\n';
      s3.on(GetObjectCommand).resolves({
        Body: streamBody([Buffer.from('region,revenue\n'), Buffer.from('emea,42\n')]),
        ContentType: 'text/csv; charset=utf-8',
        ContentLength: 23,
        ETag: '"abc"',
      });

      const result = await executor.run(
        plan('s3:GetObject', OBJECT, { ExpectedBucketOwner: '111122223333' }),
        credentials,
        LIMITS,
      );

      const recorded = {
        bucket: 'reports-bucket',
        key: '2026/q3/revenue.csv',
        contentType: 'text/csv; charset=utf-8',
        contentLength: 23,
        sha256: createHash('sha256').update(body).digest('hex'),
        eTag: '"abc"',
      };
      expect(result).toEqual({
        ok: true,
        value: {
          recorded,
          delivered: { ...recorded, url: expect.any(String), urlExpiresAt: '2030-01-01T00:10:00.000Z' },
        },
      });
      const [call] = s3.commandCalls(GetObjectCommand);
      expect(call.args[0].input).toEqual({
        Bucket: 'reports-bucket',
        Key: '2026/q3/revenue.csv',
        ExpectedBucketOwner: '111122223333',
      });
      // S3 ARNs name no region: the default one is used and S3's redirect followed.
      expect(await (call.thisValue as S3Client).config.region()).toBe('eu-west-1');
      expect((call.thisValue as S3Client).config.followRegionRedirects).toBe(true);
    });

    it('signs the URL with the session for the approved object only', async () => {
      s3.on(GetObjectCommand).resolves({ Body: streamBody([Buffer.from('x')]), ContentType: 'text/plain' });

      const result = await executor.run(
        plan('s3:GetObject', OBJECT, { ExpectedBucketOwner: '111122223333' }),
        credentials,
        LIMITS,
      );

      const url = new URL(String(result.ok && result.value.delivered.url));
      expect(url.hostname).toBe('reports-bucket.s3.eu-west-1.amazonaws.com');
      expect(url.pathname).toBe('/2026/q3/revenue.csv');
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIASESSIONKEY\//);
      expect(url.searchParams.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
      expect(url.searchParams.get('x-amz-expected-bucket-owner')).toBe('111122223333');
      expect(url.toString()).not.toContain(credentials.secretAccessKey);
    });
  });

  describe.each([
    ['iam:AttachRolePolicy', AttachRolePolicyCommand, 'attached'],
    ['iam:DetachRolePolicy', DetachRolePolicyCommand, 'detached'],
  ] as const)('%s', (operation, command, change) => {
    it('changes the policies of the role named by the approved ARN', async () => {
      iam.on(command).resolves({});

      const result = await executor.run(
        plan(operation, ROLE, { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }),
        credentials,
        LIMITS,
      );

      expect(result).toEqual({
        ok: true,
        value: {
          recorded: {
            roleName: 'billing-worker',
            policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
            change,
          },
          delivered: {
            roleName: 'billing-worker',
            policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
            change,
          },
        },
      });
      expect(iam).toHaveReceivedCommandTimes(command, 1);
      expect(iam.commandCalls(command)[0].args[0].input).toEqual({
        RoleName: 'billing-worker',
        PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      });
      expect(iam).toHaveReceivedCommandTimes(
        operation === 'iam:AttachRolePolicy' ? DetachRolePolicyCommand : AttachRolePolicyCommand,
        0,
      );
    });
  });

  describe('lambda:UpdateFunctionConfiguration', () => {
    it('updates the approved function in its region and names, without values, the variables it set', async () => {
      // Prepare
      lambda.on(UpdateFunctionConfigurationCommand).resolves({
        FunctionArn: FUNCTION,
        LastUpdateStatus: 'InProgress',
        State: 'Active',
        RevisionId: 'rev-2',
      });

      // Act
      const result = await executor.run(
        plan('lambda:UpdateFunctionConfiguration', FUNCTION, {
          MemorySize: 1024,
          Runtime: 'nodejs20.x',
          Environment: { Variables: { API_TOKEN: 'super-secret-value', MODE: 'fast' } },
        }),
        credentials,
        LIMITS,
      );

      // Assess
      expect(result).toEqual({
        ok: true,
        value: {
          recorded: {
            functionArn: FUNCTION,
            changed: ['Runtime', 'MemorySize', 'Environment'],
            environmentVariables: ['API_TOKEN', 'MODE'],
            lastUpdateStatus: 'InProgress',
            state: 'Active',
            revisionId: 'rev-2',
          },
          delivered: {
            functionArn: FUNCTION,
            changed: ['Runtime', 'MemorySize', 'Environment'],
            environmentVariables: ['API_TOKEN', 'MODE'],
            lastUpdateStatus: 'InProgress',
            state: 'Active',
            revisionId: 'rev-2',
          },
        },
      });
      expect(JSON.stringify(result)).not.toContain('super-secret-value');
      const [call] = lambda.commandCalls(UpdateFunctionConfigurationCommand);
      expect(call.args[0].input).toEqual({
        FunctionName: FUNCTION,
        MemorySize: 1024,
        Runtime: 'nodejs20.x',
        Environment: { Variables: { API_TOKEN: 'super-secret-value', MODE: 'fast' } },
      });
      expect(await (call.thisValue as LambdaClient).config.region()).toBe('eu-central-1');
    });

    it('fails without calling Lambda for a runtime the SDK does not know', async () => {
      const result = await executor.run(
        plan('lambda:UpdateFunctionConfiguration', FUNCTION, { Runtime: 'cobol85' }),
        credentials,
        LIMITS,
      );

      expect(result).toEqual({
        ok: false,
        error: { name: 'TypeError', message: 'cobol85 is not a Lambda runtime this SDK knows' },
      });
      expect(lambda).not.toHaveReceivedAnyCommand();
    });
  });
});

describe('Attack class 6: the audit trail holds decisions, not data', () => {
  beforeEach(() => s3.reset());

  it('never records any part of what an object holds, whatever it holds and however large', async () => {
    // A marker the body repeats, so any fragment of it in the record would be found.
    const secret = fc.stringMatching(/^[A-Za-z0-9+/]{16,40}$/);
    await fc.assert(
      fc.asyncProperty(secret, fc.integer({ min: 1, max: 400_000 }), async (marker, size) => {
        const body = Buffer.from(marker.repeat(Math.ceil(size / marker.length)).slice(0, size));
        s3.on(GetObjectCommand).resolves({ Body: streamBody([body]), ContentType: 'text/plain' });

        const result = await executor.run(plan('s3:GetObject', OBJECT, {}), credentials, LIMITS);

        if (!result.ok) throw new Error(result.error.message);
        const { recorded, delivered } = result.value;
        expect(JSON.stringify(recorded)).not.toContain(marker);
        expect(JSON.stringify(delivered)).not.toContain(marker);
        expect(recorded).toMatchObject({
          sha256: createHash('sha256').update(body).digest('hex'),
          contentLength: size,
        });
        // Delivered by reference: a few hundred bytes, far below Step Functions' 256 KB.
        expect(Buffer.byteLength(JSON.stringify(delivered))).toBeLessThan(4_096);
      }),
      { numRuns: 20 },
    );
  });

  it('makes the URL last no longer than the approval', async () => {
    s3.on(GetObjectCommand).resolves({ Body: streamBody([Buffer.from('x')]), ContentType: 'text/plain' });

    const result = await executor.run(plan('s3:GetObject', OBJECT, {}), credentials, {
      now: NOW,
      notAfter: new Date('2030-01-01T00:02:00Z'),
    });

    const url = new URL(String(result.ok && result.value.delivered.url));
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(result.ok && result.value.delivered.urlExpiresAt).toBe('2030-01-01T00:02:00.000Z');
  });

  it('makes the URL last no longer than the session, when the session ends first', async () => {
    s3.on(GetObjectCommand).resolves({ Body: streamBody([Buffer.from('x')]), ContentType: 'text/plain' });

    const result = await executor.run(
      plan('s3:GetObject', OBJECT, {}),
      { ...credentials, expiration: new Date('2030-01-01T00:05:00Z') },
      { now: NOW, notAfter: new Date('2030-01-01T01:00:00Z') },
    );

    expect(new URL(String(result.ok && result.value.delivered.url)).searchParams.get('X-Amz-Expires')).toBe(
      '300',
    );
  });
});
