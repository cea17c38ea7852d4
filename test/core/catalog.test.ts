import {
  CATALOG,
  CatalogRefusal,
  exportFolder,
  parameterRisks,
  planAction,
  ROLE_CLASS,
  sameRole,
  type ActionInput,
  type ActionPlan,
} from '../../lambdas/core/catalog';
import { buildSessionPolicy } from '../../lambdas/core/session-policy';
import { ALLOW_EVERYTHING, isAllowed } from '../../local/iam-simulator';

const TABLE = 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders';
const OBJECT = 'arn:aws:s3:::reports-bucket/2026/q3/revenue.csv';
const ROLE = 'arn:aws:iam::111122223333:role/service/billing-worker';
const FUNCTION = 'arn:aws:lambda:eu-west-1:111122223333:function:billing';
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function input(operation: string, resource: string, parameters: Record<string, unknown>): ActionInput {
  return { requestId: 'req-1', operation, resource, parameters };
}

/** Unwraps a plan the test expects, failing with the refusal otherwise. */
function planOf(action: ActionInput): ActionPlan {
  const planned = planAction(action);
  if (!planned.ok) throw new Error(`expected a plan, got ${planned.error.reason}: ${planned.error.message}`);
  return planned.value;
}

describe('Function: planAction', () => {
  describe('dynamodb:ExportTableToPointInTime', () => {
    it('plans the export on the approved table with write access to the export prefix only', () => {
      // Act
      const plan = planOf(
        input('dynamodb:ExportTableToPointInTime', TABLE, {
          S3Bucket: 'exports',
          S3Prefix: 'orders/req-1/',
          ExportFormat: 'ION',
        }),
      );

      // Assess
      expect(plan).toEqual({
        operation: 'dynamodb:ExportTableToPointInTime',
        roleClass: 'data-export',
        resource: TABLE,
        target: { tableArn: TABLE, region: 'eu-west-1', clientToken: 'req-1' },
        parameters: { S3Bucket: 'exports', S3Prefix: 'orders/req-1/', ExportFormat: 'ION' },
        companions: [
          {
            sid: 'ExportDestination',
            actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'],
            resources: ['arn:aws:s3:::exports/orders/req-1/AWSDynamoDB/*'],
          },
        ],
      });
    });

    it('adds the encryption key as a companion when the export is SSE-KMS encrypted', () => {
      const plan = planOf(
        input('dynamodb:ExportTableToPointInTime', TABLE, {
          S3Bucket: 'exports',
          S3SseAlgorithm: 'KMS',
          S3SseKmsKeyId: KEY,
        }),
      );

      expect(plan.companions).toEqual([
        expect.objectContaining({ resources: ['arn:aws:s3:::exports/AWSDynamoDB/*'] }),
        { sid: 'ExportEncryptionKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [KEY] },
      ]);
    });

    it('refuses the table and the client token as parameters, saying why', () => {
      const planned = planAction(
        input('dynamodb:ExportTableToPointInTime', TABLE, {
          S3Bucket: 'exports',
          TableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/users',
          ClientToken: 'mine',
        }),
      );

      expect(planned).toEqual({
        ok: false,
        error: {
          reason: CatalogRefusal.InvalidParameters,
          message:
            'TableArn: the table is the approved resource, not a parameter; ClientToken: set from the request id, so a retry cannot start a second export',
        },
      });
    });

    it.each([
      ['a wildcard', 'orders/*'],
      ['a policy variable', 'orders/${aws:username}/'],
      ['a question mark', 'orders/?/'],
    ])('refuses an S3 prefix holding %s, which would widen the companion statement', (_what, S3Prefix) => {
      const planned = planAction(
        input('dynamodb:ExportTableToPointInTime', TABLE, { S3Bucket: 'exports', S3Prefix }),
      );

      expect(planned.ok).toBe(false);
      expect(!planned.ok && planned.error.message).toMatch(/^S3Prefix: must be 1-1024 of the characters/);
    });

    it('refuses parameters the action does not take', () => {
      const planned = planAction(
        input('dynamodb:ExportTableToPointInTime', TABLE, { S3Bucket: 'exports', Bogus: 1 }),
      );

      expect(planned).toEqual({
        ok: false,
        error: {
          reason: CatalogRefusal.InvalidParameters,
          message: 'not a parameter of dynamodb:ExportTableToPointInTime: Bogus',
        },
      });
    });

    it('refuses a key id that is not an ARN, and a key without KMS encryption', () => {
      const aliasKey = planAction(
        input('dynamodb:ExportTableToPointInTime', TABLE, {
          S3Bucket: 'exports',
          S3SseAlgorithm: 'KMS',
          S3SseKmsKeyId: 'alias/exports',
        }),
      );
      const keyWithoutKms = planAction(
        input('dynamodb:ExportTableToPointInTime', TABLE, { S3Bucket: 'exports', S3SseKmsKeyId: KEY }),
      );

      expect(!aliasKey.ok && aliasKey.error.message).toBe(
        'S3SseKmsKeyId: must be a KMS key ARN (the session policy needs the key by ARN)',
      );
      expect(!keyWithoutKms.ok && keyWithoutKms.error.message).toBe(
        'S3SseKmsKeyId: S3SseKmsKeyId needs S3SseAlgorithm "KMS"',
      );
    });

    it('refuses a resource that is not a table', () => {
      const planned = planAction(input('dynamodb:ExportTableToPointInTime', OBJECT, { S3Bucket: 'exports' }));

      expect(planned).toEqual({
        ok: false,
        error: {
          reason: CatalogRefusal.ResourceMismatch,
          message: `dynamodb:ExportTableToPointInTime needs a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>), not "${OBJECT}"`,
        },
      });
    });

    it('yields companions that let the session write the export under its prefix and nowhere else', async () => {
      // Prepare
      const plan = planOf(
        input('dynamodb:ExportTableToPointInTime', TABLE, { S3Bucket: 'exports', S3Prefix: 'orders/req-1/' }),
      );
      const policy = buildSessionPolicy({
        operation: plan.operation,
        resource: plan.resource,
        notAfter: '2030-01-01T00:00:00Z',
        companions: plan.companions,
      });
      if (!policy.ok) throw new Error(policy.error.message);
      const ask = (action: string, resource: string) =>
        isAllowed({
          identityPolicy: ALLOW_EVERYTHING,
          sessionPolicy: policy.value,
          action,
          resource,
          currentTime: new Date('2029-12-31T23:00:00Z'),
          account: '111122223333',
        });

      // Act + Assess
      await expect(ask('dynamodb:ExportTableToPointInTime', TABLE)).resolves.toBe(true);
      await expect(
        ask('s3:PutObject', 'arn:aws:s3:::exports/orders/req-1/AWSDynamoDB/0001/manifest-files.json'),
      ).resolves.toBe(true);
      await expect(
        ask('s3:PutObject', 'arn:aws:s3:::exports/orders/req-2/AWSDynamoDB/0001/manifest-files.json'),
      ).resolves.toBe(false);
      await expect(
        ask('s3:GetObject', 'arn:aws:s3:::exports/orders/req-1/AWSDynamoDB/0001/manifest-files.json'),
      ).resolves.toBe(false);
    });
  });

  describe('s3:GetObject', () => {
    it('reads the bucket and key off the approved ARN', () => {
      const plan = planOf(input('s3:GetObject', OBJECT, { Range: 'bytes=0-1023' }));

      expect(plan).toMatchObject({
        roleClass: 'data-read',
        target: { bucket: 'reports-bucket', key: '2026/q3/revenue.csv' },
        parameters: { Range: 'bytes=0-1023' },
        companions: [],
      });
    });

    it('refuses a version id, which is another IAM action', () => {
      const planned = planAction(input('s3:GetObject', OBJECT, { VersionId: 'v1', Bucket: 'other' }));

      expect(!planned.ok && planned.error.message).toBe(
        'Bucket: the bucket is part of the approved resource; VersionId: reading a version is s3:GetObjectVersion, a different action that needs its own approval',
      );
    });

    it('refuses a bucket ARN: the action reads an object', () => {
      const planned = planAction(input('s3:GetObject', 'arn:aws:s3:::reports-bucket', {}));

      expect(!planned.ok && planned.error.reason).toBe(CatalogRefusal.ResourceMismatch);
    });
  });

  describe.each(['iam:AttachRolePolicy', 'iam:DetachRolePolicy'])('%s', (operation) => {
    it('acts on the role named by the approved ARN, whatever its path', () => {
      const plan = planOf(input(operation, ROLE, { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }));

      expect(plan).toMatchObject({
        roleClass: 'iam-admin',
        target: { partition: 'aws', account: '111122223333', roleName: 'billing-worker' },
        parameters: { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
      });
    });

    it('mints a session that can use only the approved policy on the approved role', async () => {
      const approvedPolicy = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
      const plan = planOf(input(operation, ROLE, { PolicyArn: approvedPolicy }));
      const policy = buildSessionPolicy({
        operation,
        resource: ROLE,
        notAfter: '2030-01-01T00:00:00Z',
        ...(plan.approvedCallConditions ? { approvedCallConditions: plan.approvedCallConditions } : {}),
      });
      if (!policy.ok) throw new Error(policy.error.message);
      const ask = (policyArn: string) =>
        isAllowed({
          identityPolicy: ALLOW_EVERYTHING,
          sessionPolicy: policy.value,
          action: operation,
          resource: ROLE,
          currentTime: new Date('2029-06-01T00:00:00Z'),
          context: { 'iam:PolicyARN': policyArn },
        });

      await expect(
        Promise.all([ask(approvedPolicy), ask('arn:aws:iam::aws:policy/AdministratorAccess')]),
      ).resolves.toEqual([true, false]);
    });

    it('refuses a role name parameter and a policy that is not a managed policy ARN', () => {
      const planned = planAction(
        input(operation, ROLE, { RoleName: 'admin', PolicyArn: 'AdministratorAccess' }),
      );

      expect(!planned.ok && planned.error.message).toBe(
        'RoleName: the role is the approved resource, not a parameter; PolicyArn: must be a managed policy ARN',
      );
    });
  });

  describe('lambda:UpdateFunctionConfiguration', () => {
    it('plans the change with read access to the layers it adds', () => {
      const layer = 'arn:aws:lambda:eu-west-1:999988887777:layer:telemetry:7';

      const plan = planOf(
        input('lambda:UpdateFunctionConfiguration', FUNCTION, { MemorySize: 512, Layers: [layer] }),
      );

      expect(plan).toMatchObject({
        roleClass: 'lambda-config',
        target: { functionArn: FUNCTION, region: 'eu-west-1' },
        companions: [{ sid: 'FunctionLayers', actions: ['lambda:GetLayerVersion'], resources: [layer] }],
      });
    });

    it('refuses a new execution role, which would need iam:PassRole', () => {
      const planned = planAction(
        input('lambda:UpdateFunctionConfiguration', FUNCTION, {
          Role: 'arn:aws:iam::111122223333:role/admin',
        }),
      );

      expect(!planned.ok && planned.error.message).toMatch(
        /^Role: changing the execution role needs iam:PassRole/,
      );
    });

    it('refuses an update that changes nothing', () => {
      const planned = planAction(
        input('lambda:UpdateFunctionConfiguration', FUNCTION, { RevisionId: 'r-1' }),
      );

      expect(!planned.ok && planned.error.message).toBe('nothing to change');
    });

    it('refuses a qualified function ARN: the call changes $LATEST', () => {
      const planned = planAction(
        input('lambda:UpdateFunctionConfiguration', `${FUNCTION}:live`, { MemorySize: 512 }),
      );

      expect(!planned.ok && planned.error.reason).toBe(CatalogRefusal.ResourceMismatch);
    });
  });

  it('fails closed on an operation that is not in the catalog', () => {
    const planned = planAction(
      input('ec2:TerminateInstances', 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1', {}),
    );

    expect(planned).toEqual({
      ok: false,
      error: {
        reason: CatalogRefusal.UnknownOperation,
        message: 'ec2:TerminateInstances is not in the action catalog, so it cannot be executed',
      },
    });
  });

  it('ships each operation once, each with a known role class', () => {
    const operations = CATALOG.map((entry) => entry.operation);

    expect(new Set(operations).size).toBe(operations.length);
    expect(operations).toEqual([
      'dynamodb:ExportTableToPointInTime',
      's3:GetObject',
      'iam:AttachRolePolicy',
      'iam:DetachRolePolicy',
      'lambda:UpdateFunctionConfiguration',
    ]);
    for (const entry of CATALOG) expect(Object.values(ROLE_CLASS)).toContain(entry.roleClass);
  });
});

describe('Function: sameRole', () => {
  it('matches a role whatever the case of its name or the path in its ARN', () => {
    expect(
      sameRole('arn:aws:iam::111122223333:role/Executor', 'arn:aws:iam::111122223333:role/aa/executor'),
    ).toBe(true);
  });

  it('tells roles of other accounts and other names apart', () => {
    expect(
      sameRole('arn:aws:iam::111122223333:role/executor', 'arn:aws:iam::444455556666:role/executor'),
    ).toBe(false);
    expect(
      sameRole('arn:aws:iam::111122223333:role/executor', 'arn:aws:iam::111122223333:role/executor2'),
    ).toBe(false);
  });

  it('is false for ARNs that are not roles', () => {
    expect(
      sameRole('arn:aws:iam::111122223333:user/executor', 'arn:aws:iam::111122223333:user/executor'),
    ).toBe(false);
  });
});

describe('Attack class 1: nothing runs that the reviewer could not see', () => {
  const update = (parameters: Record<string, unknown>) => ({
    requestId: 'req-1',
    operation: 'lambda:UpdateFunctionConfiguration',
    resource: FUNCTION,
    parameters,
  });

  it.each(['AWS_LAMBDA_EXEC_WRAPPER', 'LD_PRELOAD', 'LD_AUDIT', 'DOTNET_STARTUP_HOOKS'])(
    'forbids %s, whose only use is to run other code, with the reason',
    (name) => {
      const plan = planAction(update({ Environment: { Variables: { [name]: '/opt/x' } } }));

      expect(plan.ok).toBe(false);
      expect(!plan.ok && plan.error.message).toMatch(
        new RegExp(`^Environment\\.Variables\\.${name}: forbidden: it `),
      );
    },
  );

  it.each(['NODE_OPTIONS', 'JAVA_TOOL_OPTIONS', 'PYTHONPATH', 'LD_LIBRARY_PATH', 'RUBYOPT'])(
    'allows %s, which has legitimate uses, and flags it as risky with the reason',
    (name) => {
      const input = update({ Environment: { Variables: { [name]: 'x' } } });

      expect(planAction(input).ok).toBe(true);
      expect(parameterRisks(input)).toEqual([
        { key: 'Environment', reason: expect.stringContaining(`${name}: `) },
      ]);
    },
  );

  it('flags a layer from another account, and not one from the function’s own', () => {
    const input = update({
      Layers: [
        'arn:aws:lambda:eu-west-1:111122223333:layer:own:1',
        'arn:aws:lambda:eu-west-1:999988887777:layer:theirs:1',
      ],
    });

    expect(parameterRisks(input)).toEqual([
      {
        key: 'Layers',
        reason: expect.stringContaining('arn:aws:lambda:eu-west-1:999988887777:layer:theirs:1'),
      },
    ]);
  });

  it('flags a new handler, which changes the code every invocation runs', () => {
    expect(parameterRisks(update({ Handler: 'other.handler' }))).toEqual([
      { key: 'Handler', reason: expect.stringContaining('changes which code') },
    ]);
  });

  it('flags an export to another account’s bucket or under another account’s key', () => {
    const risks = parameterRisks({
      requestId: 'req-1',
      operation: 'dynamodb:ExportTableToPointInTime',
      resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
      parameters: {
        S3Bucket: 'exports',
        S3BucketOwner: '999988887777',
        S3SseAlgorithm: 'KMS',
        S3SseKmsKeyId: 'arn:aws:kms:eu-west-1:999988887777:key/abcd',
      },
    });

    expect(risks.map((risk) => risk.key)).toEqual(['S3BucketOwner', 'S3SseKmsKeyId']);
  });

  it('flags nothing for an export within the table’s own account', () => {
    expect(
      parameterRisks({
        requestId: 'req-1',
        operation: 'dynamodb:ExportTableToPointInTime',
        resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
        parameters: { S3Bucket: 'exports', S3BucketOwner: '111122223333' },
      }),
    ).toEqual([]);
  });
});

describe('Attack class 7: an export session reaches exactly <prefix>/AWSDynamoDB/', () => {
  const TABLE_ARN = 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders';
  const sessionFor = (S3Prefix: string | undefined) => {
    const plan = planOf(
      input('dynamodb:ExportTableToPointInTime', TABLE_ARN, {
        S3Bucket: 'exports',
        ...(S3Prefix === undefined ? {} : { S3Prefix }),
      }),
    );
    const policy = buildSessionPolicy({
      operation: plan.operation,
      resource: plan.resource,
      notAfter: '2030-01-01T00:00:00Z',
      companions: plan.companions,
    });
    if (!policy.ok) throw new Error(policy.error.message);
    return (key: string) =>
      isAllowed({
        identityPolicy: ALLOW_EVERYTHING,
        sessionPolicy: policy.value,
        action: 's3:PutObject',
        resource: `arn:aws:s3:::exports/${key}`,
        currentTime: new Date('2029-12-31T23:00:00Z'),
        account: '111122223333',
      });
  };

  it('the folder is the prefix, a slash, and AWSDynamoDB/, with or without a trailing slash', () => {
    expect(exportFolder(undefined)).toBe('AWSDynamoDB/');
    expect(exportFolder('orders')).toBe('orders/AWSDynamoDB/');
    expect(exportFolder('orders/')).toBe('orders/AWSDynamoDB/');
  });

  it.each([['orders'], ['orders/']])(
    'with prefix "%s" the session writes the export folder and no sibling of the prefix',
    async (prefix) => {
      const put = sessionFor(prefix);
      await expect(put('orders/AWSDynamoDB/0001/manifest-files.json')).resolves.toBe(true);
      await expect(put('orders/AWSDynamoDBX/0001/manifest-files.json')).resolves.toBe(false);
      await expect(put('ordersAWSDynamoDB/0001/manifest-files.json')).resolves.toBe(false);
      await expect(put('orders/other/object')).resolves.toBe(false);
      await expect(put('orders-archive/AWSDynamoDB/0001/data.json.gz')).resolves.toBe(false);
    },
  );

  it('without a prefix the session writes AWSDynamoDB/ and nothing else of the bucket', async () => {
    const put = sessionFor(undefined);
    await expect(put('AWSDynamoDB/0001/manifest-files.json')).resolves.toBe(true);
    await expect(put('AWSDynamoDBX/0001/manifest-files.json')).resolves.toBe(false);
    await expect(put('index.html')).resolves.toBe(false);
  });
});
