import { CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SdkCommandExecutor } from '../../lambdas/adapters/sdk-command-executor';
import { buildSessionPolicy, serializeSessionPolicy } from '../../lambdas/core/session-policy';
import { sdkOperationFor } from '../../lambdas/core/sdk-operations';
import type { SdkOperation } from '../../lambdas/core/sdk-operations';
import type { LocalEventBus } from '../../local/event-bus';
import { LocalGateway } from '../../local/gateway';
import type { LocalKms } from '../../local/local-kms';
import { LocalSts } from '../../local/local-sts';
import type { LocalQueues } from '../../local/queues';
import { DynamoDbLocalTables } from '../../local/exportable-tables';
import { LocalTargets } from '../../local/targets';
import type { TaskTokens } from '../../local/task-tokens';
import { createTestTables, type TestTables } from '../support/dynamodb';

const ACCOUNT = '111122223333';
const NOW = new Date('2026-11-24T10:05:00.000Z');

function operation(action: string): SdkOperation {
  const mapped = sdkOperationFor(action);
  if (!mapped.ok) throw new Error(mapped.error.message);
  return mapped.value;
}

describe('Local mode: a DynamoDB action outside the catalog runs for real against DynamoDB Local', () => {
  let tables: TestTables;
  let gateway: LocalGateway;
  const sts = new LocalSts();
  const table = `orders-${Date.now()}`;
  const tableArn = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${table}`;

  beforeAll(async () => {
    tables = await createTestTables();
    await tables.client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT ?? '';
    gateway = new LocalGateway({
      sts,
      targets: new LocalTargets(
        sts,
        new DynamoDbLocalTables(endpoint),
        mkdtempSync(join(tmpdir(), 'local-generic-')),
      ),
      now: () => NOW,
      // The other services of the gateway play no part here.
      bus: {} as LocalEventBus,
      tokens: {} as TaskTokens,
      queues: {} as LocalQueues,
      kms: {} as LocalKms,
    });
    await gateway.start();
  });

  afterAll(() => gateway.stop());

  /** A session the local STS minted, for exactly this call, as the execute step mints it. */
  function sessionFor(action: string, resource: string) {
    const policy = buildSessionPolicy({ operation: action, resource, notAfter: '2026-11-24T10:15:00Z' });
    if (!policy.ok) throw new Error(policy.error.message);
    return sts.assumeRole(
      new URLSearchParams({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/action-approvals/action-approvals-generic-change`,
        RoleSessionName: 'local-generic',
        DurationSeconds: '900',
        Policy: serializeSessionPolicy(policy.value),
      }),
      NOW,
    );
  }

  it('writes the item the approved PutItem names, authorized by the simulator', async () => {
    const executor = new SdkCommandExecutor({ defaultRegion: 'us-east-1', endpoint: gateway.url });
    const parameters = { TableName: table, Item: { id: { S: 'order-1' }, total: { N: '42' } } };

    const result = await executor.run(
      { operation: operation('dynamodb:PutItem'), resource: tableArn, parameters },
      sessionFor('dynamodb:PutItem', tableArn),
    );

    expect(result.ok).toBe(true);
    const stored = await tables.client.send(
      new GetItemCommand({ TableName: table, Key: { id: { S: 'order-1' } } }),
    );
    expect(stored.Item).toEqual({ id: { S: 'order-1' }, total: { N: '42' } });
  });

  it('refuses, as IAM would, an action the session does not allow', async () => {
    const executor = new SdkCommandExecutor({ defaultRegion: 'us-east-1', endpoint: gateway.url });

    const result = await executor.run(
      { operation: operation('dynamodb:DeleteTable'), resource: tableArn, parameters: { TableName: table } },
      sessionFor('dynamodb:PutItem', tableArn),
    );

    expect(result).toMatchObject({ ok: false, error: { name: 'AccessDeniedException' } });
  });
});
