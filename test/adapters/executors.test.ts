import { DynamoDBClient, ExportTableToPointInTimeCommand } from '@aws-sdk/client-dynamodb';
import { AttachRolePolicyCommand, DetachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { BODY_PREVIEW_BYTES, SdkActionExecutor } from '../../lambdas/adapters/executors';
import type { SessionCredentials } from '../../lambdas/adapters/sts';
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
      );

      // Assess
      expect(result).toEqual({
        ok: true,
        value: {
          exportArn: `${TABLE}/export/01234567890123-abcdefgh`,
          exportStatus: 'IN_PROGRESS',
          exportTime: '2026-11-24T10:00:00.000Z',
          exportFormat: 'DYNAMODB_JSON',
          s3Bucket: 'exports',
          s3Prefix: 'orders/req-42/',
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

      await executor.run(exportPlan, credentials);
      await executor.run(exportPlan, { ...credentials, accessKeyId: 'ASIASECONDSESSION' });

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
    it('reads the approved object and returns a text body with its metadata', async () => {
      s3.on(GetObjectCommand).resolves({
        Body: streamBody([Buffer.from('region,revenue\n'), Buffer.from('emea,42\n')]),
        ContentType: 'text/csv; charset=utf-8',
        ContentLength: 23,
        ETag: '"abc"',
      });

      const result = await executor.run(
        plan('s3:GetObject', OBJECT, { ExpectedBucketOwner: '111122223333' }),
        credentials,
      );

      expect(result).toEqual({
        ok: true,
        value: {
          bucket: 'reports-bucket',
          key: '2026/q3/revenue.csv',
          contentType: 'text/csv; charset=utf-8',
          contentLength: 23,
          eTag: '"abc"',
          body: 'region,revenue\nemea,42\n',
          bodyEncoding: 'utf-8',
          truncated: false,
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

    it('returns a binary body as base64', async () => {
      s3.on(GetObjectCommand).resolves({
        Body: streamBody([Uint8Array.from([0, 159, 146, 150])]),
        ContentType: 'application/octet-stream',
      });

      const result = await executor.run(plan('s3:GetObject', OBJECT, {}), credentials);

      expect(result).toMatchObject({
        ok: true,
        value: { body: 'AJ+Slg==', bodyEncoding: 'base64', truncated: false },
      });
    });

    it('returns text that is not UTF-8 as base64', async () => {
      s3.on(GetObjectCommand).resolves({
        Body: streamBody([Uint8Array.from([0xff, 0xfe, 0x41])]),
        ContentType: 'text/plain',
      });

      const result = await executor.run(plan('s3:GetObject', OBJECT, {}), credentials);

      expect(result).toMatchObject({ ok: true, value: { body: '//5B', bodyEncoding: 'base64' } });
    });

    it('keeps the first 64 KiB of a large object, marks it truncated and stops downloading', async () => {
      // Prepare
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pulled = { count: 0 };
      s3.on(GetObjectCommand).resolves({
        Body: streamBody(
          Array.from({ length: 64 }, () => chunk),
          pulled,
        ),
        ContentType: 'text/plain',
      });

      // Act
      const result = await executor.run(plan('s3:GetObject', OBJECT, {}), credentials);

      // Assess
      expect(result.ok && result.value).toMatchObject({ bodyEncoding: 'utf-8', truncated: true });
      expect(result.ok && (result.value.body as string).length).toBe(BODY_PREVIEW_BYTES);
      expect(pulled.count).toBeLessThan(10);
    });

    it('does not split a character at the 64 KiB cut', async () => {
      // Prepare: "é" is two bytes and straddles the limit.
      const text = `${'a'.repeat(BODY_PREVIEW_BYTES - 1)}é and more`;
      s3.on(GetObjectCommand).resolves({
        Body: streamBody([Buffer.from(text)]),
        ContentType: 'application/json',
      });

      // Act
      const result = await executor.run(plan('s3:GetObject', OBJECT, {}), credentials);

      // Assess
      expect(result.ok && result.value).toMatchObject({
        body: 'a'.repeat(BODY_PREVIEW_BYTES - 1),
        bodyEncoding: 'utf-8',
        truncated: true,
      });
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
      );

      expect(result).toEqual({
        ok: true,
        value: { roleName: 'billing-worker', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', change },
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
      );

      // Assess
      expect(result).toEqual({
        ok: true,
        value: {
          functionArn: FUNCTION,
          changed: ['Runtime', 'MemorySize', 'Environment'],
          environmentVariables: ['API_TOKEN', 'MODE'],
          lastUpdateStatus: 'InProgress',
          state: 'Active',
          revisionId: 'rev-2',
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
      );

      expect(result).toEqual({
        ok: false,
        error: { name: 'TypeError', message: 'cobol85 is not a Lambda runtime this SDK knows' },
      });
      expect(lambda).not.toHaveReceivedAnyCommand();
    });
  });
});
