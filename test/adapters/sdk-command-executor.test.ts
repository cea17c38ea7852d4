import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { IAMClient, AttachRolePolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import 'aws-sdk-client-mock-jest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CLIENT_LOADERS,
  OUTPUT_INLINE_MAX_BYTES,
  regionOf,
  SdkCommandExecutor,
  STAND_IN_HEADER,
  STREAM_PREVIEW_BYTES,
  type ClientModule,
} from '../../lambdas/adapters/sdk-command-executor';
import type { SessionCredentials } from '../../lambdas/app/ports';
import { canonicalJson } from '../../lambdas/core/canonical';
import { SDK_SERVICES, sdkOperationFor, type SdkOperation } from '../../lambdas/core/sdk-operations';

const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
const s3 = mockClient(S3Client);
const iam = mockClient(IAMClient);

const SERVICE = 'arn:aws:ecs:eu-central-1:111122223333:service/prod/checkout';
const INSTANCE = 'arn:aws:ec2:us-west-2:111122223333:instance/i-0abc1234def567890';

const credentials: SessionCredentials = {
  accessKeyId: 'ASIASESSIONKEY',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET',
  sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN',
  expiration: new Date('2030-01-01T00:15:00Z'),
};

const executor = new SdkCommandExecutor({ defaultRegion: 'eu-west-1' });

function operation(action: string): SdkOperation {
  const mapped = sdkOperationFor(action);
  if (!mapped.ok) throw new Error(mapped.error.message);
  return mapped.value;
}

async function clientOf(call: { thisValue: unknown }) {
  const client = call.thisValue as ECSClient;
  return {
    region: await client.config.region(),
    credentials: await client.config.credentials(),
    endpoint: client.config.endpoint ? await client.config.endpoint() : undefined,
  };
}

function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

beforeEach(() => {
  ecs.reset();
  ec2.reset();
  s3.reset();
  iam.reset();
});

describe('Class: SdkCommandExecutor', () => {
  it('sends the command of the approved action with the approved parameters exactly as given', async () => {
    // Prepare
    const parameters = { cluster: 'prod', service: 'checkout', desiredCount: 4 };
    ecs.on(UpdateServiceCommand).resolves({ service: { serviceName: 'checkout', desiredCount: 4 } });

    // Act
    await executor.run(
      { operation: operation('ecs:UpdateService'), resource: SERVICE, parameters },
      credentials,
    );

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toStrictEqual(parameters);
  });

  it("builds the client in the ARN's region with the session's credentials", async () => {
    // Prepare
    ec2.on(StopInstancesCommand).resolves({});

    // Act
    await executor.run(
      {
        operation: operation('ec2:StopInstances'),
        resource: INSTANCE,
        parameters: { InstanceIds: ['i-0abc1234def567890'] },
      },
      credentials,
    );

    // Assess
    const client = await clientOf(ec2.commandCalls(StopInstancesCommand)[0]!);
    expect(client.region).toBe('us-west-2');
    expect(client.credentials).toMatchObject({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    });
  });

  it('sends a global service to its home region', async () => {
    // Prepare
    iam.on(AttachRolePolicyCommand).resolves({});

    // Act
    await executor.run(
      {
        operation: operation('iam:AttachRolePolicy'),
        resource: 'arn:aws:iam::111122223333:role/app',
        parameters: { RoleName: 'app', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
      },
      credentials,
    );

    // Assess
    expect((await clientOf(iam.commandCalls(AttachRolePolicyCommand)[0]!)).region).toBe('us-east-1');
  });

  it('sends the call to the local endpoint when one is set', async () => {
    // Prepare
    ec2.on(StopInstancesCommand).resolves({});
    const local = new SdkCommandExecutor({ defaultRegion: 'eu-west-1', endpoint: 'http://127.0.0.1:4010' });

    // Act
    await local.run(
      { operation: operation('ec2:StopInstances'), resource: INSTANCE, parameters: { InstanceIds: ['i-1'] } },
      credentials,
    );

    // Assess
    const client = await clientOf(ec2.commandCalls(StopInstancesCommand)[0]!);
    expect(client.endpoint).toMatchObject({ hostname: '127.0.0.1', port: 4010 });
  });

  it('records the response by digest, size and type, and delivers it as JSON to the agent', async () => {
    // Prepare
    const changed = new Date('2026-11-30T10:00:00Z');
    ecs.on(UpdateServiceCommand).resolves({
      $metadata: { httpStatusCode: 200, requestId: 'aws-req-1' },
      service: { serviceName: 'checkout', desiredCount: 4, createdAt: changed },
    });

    // Act
    const result = await executor.run(
      { operation: operation('ecs:UpdateService'), resource: SERVICE, parameters: { service: 'checkout' } },
      credentials,
    );

    // Assess
    const output = {
      service: { serviceName: 'checkout', desiredCount: 4, createdAt: '2026-11-30T10:00:00.000Z' },
    };
    const made = {
      operation: 'ecs:UpdateService',
      command: 'UpdateServiceCommand',
      httpStatusCode: 200,
      awsRequestId: 'aws-req-1',
    };
    expect(result).toEqual({
      ok: true,
      value: {
        recorded: {
          ...made,
          output: {
            sha256: digest(output),
            bytes: Buffer.byteLength(canonicalJson(output)),
            contentType: 'application/json',
          },
        },
        delivered: { ...made, output },
      },
    });
  });

  it('withholds from the agent an output larger than an outcome carries inline, describing it instead', async () => {
    // Prepare
    const tags = Array.from({ length: 2_000 }, (_, index) => ({ key: `k${index}`, value: 'v'.repeat(40) }));
    ecs.on(UpdateServiceCommand).resolves({ service: { tags } });

    // Act
    const result = await executor.run(
      { operation: operation('ecs:UpdateService'), resource: SERVICE, parameters: { service: 'checkout' } },
      credentials,
    );

    // Assess
    if (!result.ok) throw new Error(result.error.message);
    const bytes = Buffer.byteLength(canonicalJson({ service: { tags } }));
    expect(bytes).toBeGreaterThan(OUTPUT_INLINE_MAX_BYTES);
    const described = { sha256: digest({ service: { tags } }), bytes, contentType: 'application/json' };
    expect(result.value.recorded.output).toEqual(described);
    expect(result.value.delivered.output).toEqual({
      ...described,
      withheld: `larger than the ${OUTPUT_INLINE_MAX_BYTES} bytes an outcome carries inline`,
    });
  });

  it('reads no more of a streamed body than the preview holds', async () => {
    // Prepare
    const big = Buffer.alloc(STREAM_PREVIEW_BYTES + 10, 1);
    s3.on(GetObjectCommand).resolves({
      Body: Readable.from([
        big.subarray(0, STREAM_PREVIEW_BYTES),
        big.subarray(STREAM_PREVIEW_BYTES),
      ]) as unknown as GetObjectCommandOutput['Body'],
    });

    // Act
    const result = await executor.run(
      {
        operation: operation('s3:GetObject'),
        resource: 'arn:aws:s3:::reports/q3.bin',
        parameters: { Bucket: 'reports', Key: 'q3.bin' },
      },
      credentials,
    );

    // Assess
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.delivered.output).toEqual({
      Body: { base64: big.subarray(0, STREAM_PREVIEW_BYTES).toString('base64'), truncated: true },
    });
  });

  it('reports a failed call by its AWS error name without the session secrets', async () => {
    // Prepare
    const error = Object.assign(new Error(`denied for ${credentials.sessionToken}`), {
      name: 'AccessDeniedException',
      $metadata: { requestId: 'aws-req-9' },
    });
    ecs.on(UpdateServiceCommand).rejects(error);

    // Act
    const result = await executor.run(
      { operation: operation('ecs:UpdateService'), resource: SERVICE, parameters: { service: 'checkout' } },
      credentials,
    );

    // Assess
    expect(result).toEqual({
      ok: false,
      error: { name: 'AccessDeniedException', message: 'denied for [redacted]', awsRequestId: 'aws-req-9' },
    });
  });

  it('destroys the client after the call', async () => {
    // Prepare
    ecs.on(UpdateServiceCommand).resolves({});
    const destroy = jest.spyOn(ECSClient.prototype, 'destroy');

    // Act
    await executor.run(
      { operation: operation('ecs:UpdateService'), resource: SERVICE, parameters: { service: 'checkout' } },
      credentials,
    );

    // Assess
    expect(destroy).toHaveBeenCalledTimes(1);
    destroy.mockRestore();
  });

  it('loads only the client package of the action it runs', async () => {
    // Prepare
    const loaded: string[] = [];
    const loaders = Object.fromEntries(
      Object.entries(CLIENT_LOADERS).map(([name, load]) => [
        name,
        (): Promise<ClientModule> => {
          loaded.push(name);
          return load();
        },
      ]),
    );
    ec2.on(StopInstancesCommand).resolves({});

    // Act
    await new SdkCommandExecutor({ defaultRegion: 'eu-west-1', loaders }).run(
      { operation: operation('ec2:StopInstances'), resource: INSTANCE, parameters: { InstanceIds: ['i-1'] } },
      credentials,
    );

    // Assess
    expect(loaded).toEqual(['@aws-sdk/client-ec2']);
  });
});

describe('Class: SdkCommandExecutor, stand-in answers', () => {
  /**
   * A client package whose client runs the deserialize middlewares it is given around a response
   * that carries the gateway's stand-in header: whatever reads that header sees it.
   */
  type Next = (args: unknown) => Promise<unknown>;
  const answeredBy = (standIn: string): ClientModule => ({
    ECSClient: class {
      private readonly deserializers: ((next: Next) => Next)[] = [];
      readonly middlewareStack = {
        add: (middleware: (next: Next) => Next, options: { step: string }) => {
          if (options.step === 'deserialize') this.deserializers.push(middleware);
        },
      };
      async send(): Promise<unknown> {
        const terminal: Next = async () => ({
          response: { statusCode: 200, headers: { [STAND_IN_HEADER]: standIn } },
          output: { $metadata: { httpStatusCode: 200 }, service: { desiredCount: 3 } },
        });
        const handler = this.deserializers.reduce<Next>((next, middleware) => middleware(next), terminal);
        return ((await handler({})) as { output: unknown }).output;
      }
      destroy(): void {}
    },
    UpdateServiceCommand: class {
      constructor(readonly input: unknown) {}
    },
  });
  const answeredByStandIn = answeredBy('a stand-in');

  const call = {
    operation: operation('ecs:UpdateService'),
    resource: SERVICE,
    parameters: { cluster: 'prod', service: 'checkout', desiredCount: 3 },
  };
  const loaders = { '@aws-sdk/client-ecs': async () => answeredByStandIn };

  it('reports a call answered by a local stand-in as simulated when pointed at the local gateway', async () => {
    const local = new SdkCommandExecutor({
      defaultRegion: 'eu-west-1',
      endpoint: 'http://127.0.0.1:4566',
      acceptStandInAnswers: true,
      loaders,
    });

    expect(await local.run(call, credentials)).toMatchObject({
      ok: true,
      value: { simulated: { standIn: 'a stand-in' } },
    });
  });

  it('never reports a simulation when it talks to AWS, whatever a response carries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.boolean(), async (header, accept) => {
        const aws = new SdkCommandExecutor({
          defaultRegion: 'eu-west-1',
          acceptStandInAnswers: accept,
          loaders: { '@aws-sdk/client-ecs': async () => answeredBy(header) },
        });

        const result = await aws.run(call, credentials);

        expect(result).toMatchObject({
          ok: true,
          value: { delivered: { output: { service: { desiredCount: 3 } } } },
        });
        expect(result.ok && 'simulated' in result.value).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Data: CLIENT_LOADERS', () => {
  it('has one loader for each shipped client package', () => {
    expect(Object.keys(CLIENT_LOADERS).sort()).toEqual(
      Object.values(SDK_SERVICES)
        .map((service) => service.packageName)
        .sort(),
    );
  });
});

describe('Function: regionOf', () => {
  it.each([
    [INSTANCE, 'us-west-2'],
    ['arn:aws:s3:::reports/q3.bin', undefined],
    ['arn:aws:iam::111122223333:role/app', undefined],
  ])('reads the region of %s as %s', (arn, region) => {
    expect(regionOf(arn)).toBe(region);
  });
});
