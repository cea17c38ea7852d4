import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import fc from 'fast-check';
import { ActionApprovals, type ActionApprovalsProps } from '../../lib/action-approvals';
import {
  ACCOUNT,
  deployActionApprovals,
  logicalIdOf,
  resolveDocument,
  resolveWithPlaceholders,
  resourcesOfType,
  SLACK,
  TEAMS,
  TEST_DIRECTORY,
  testStack,
  type CfnResource,
} from './deploy';

const AGENT_ACCOUNT = '444455556666';

/** A deployment with both chat channels and agents in another account, and its template. */
function deployed(props: Partial<ActionApprovalsProps> = {}) {
  const stack = testStack();
  const approvals = deployActionApprovals(stack, {
    slack: SLACK,
    teams: TEAMS,
    agentAccounts: [AGENT_ACCOUNT],
    ...props,
  });
  return { stack, approvals, template: Template.fromStack(stack) };
}

const full = deployed();

interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** What the IAM simulator decided; an input it refused fails the test instead of reading as a denial. */
async function simulate(simulation: Parameters<typeof runSimulation>[0]): Promise<'Allowed' | 'Denied'> {
  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType !== 'single')
    throw new Error(`iam-simulate refused the input: ${JSON.stringify(result)}`);
  return result.overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}

describe('Attack class 3: the data-read role reaches only the buckets authority names', () => {
  const withoutBuckets = {
    ...TEST_DIRECTORY,
    environments: { accounts: TEST_DIRECTORY.environments.accounts, default: 'production' },
  };

  test('with no bucket mapped by the directory and none listed, there is no data-read role at all', () => {
    const stack = testStack();
    const approvals = deployActionApprovals(stack, { directory: withoutBuckets });
    expect(Object.keys(approvals.executionRoles.roles).sort()).toEqual([
      'data-export',
      'generic-change',
      'generic-read',
      'iam-admin',
      'lambda-config',
    ]);
    const execute = Template.fromStack(stack).toJSON().Resources[
      logicalIdOf(stack, approvals.handlers.execute.function)
    ] as CfnResource;
    const variables = (execute.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(variables.EXECUTION_ROLES_JSON)).not.toContain('data-read');
  });

  test('the data-read role reads the objects of the mapped buckets and of what the deployer lists, nothing else', () => {
    const stack = testStack();
    const approvals = deployActionApprovals(stack, {
      executionRoles: { 'data-read': { resources: ['arn:aws:s3:::shared-datasets/public/*'] } },
    });
    const role = approvals.executionRoles.roles['data-read'] as iam.Role;
    const ceiling = Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, role)] as CfnResource;
    const policies = ceiling.Properties?.Policies as {
      PolicyDocument: { Statement: PolicyStatementJson[] };
    }[];
    const resources = policies.flatMap((policy) =>
      policy.PolicyDocument.Statement.filter((statement) => statement.Effect === 'Allow').flatMap(
        (statement) => ([] as unknown[]).concat(statement.Resource),
      ),
    );
    expect((resolveDocument(resources, Template.fromStack(stack)) as string[]).sort()).toEqual([
      'arn:aws:s3:::reports-bucket/*',
      'arn:aws:s3:::shared-datasets/public/*',
    ]);
  });

  test('no execution role may read or write objects of every bucket', () => {
    const everyBucket = ['arn:aws:s3:::*/*', 'arn:aws:s3:::*'];
    const reaching: string[] = [];
    for (const [roleId, role] of Object.entries(resourcesOfType(full.template, 'AWS::IAM::Role'))) {
      const inline = (role.Properties?.Policies ?? []) as { PolicyDocument: unknown }[];
      for (const policy of inline) {
        const document = resolveDocument(policy.PolicyDocument, full.template) as {
          Statement: PolicyStatementJson[];
        };
        for (const statement of document.Statement) {
          for (const resource of ([] as unknown[]).concat(statement.Resource))
            if (everyBucket.includes(resource as string)) reaching.push(`${roleId}: ${String(resource)}`);
        }
      }
    }
    expect(reaching).toEqual([]);
  });
});

describe('Attack class 5: identities are pinned at every entry', () => {
  const busArn = resolveWithPlaceholders(
    full.stack.resolve(full.approvals.eventBus.eventBusArn),
    full.template,
  );
  const agentPolicy = {
    Version: '2012-10-17',
    Statement: [
      resolveDocument(
        full.stack.resolve(ActionApprovals.agentRequestStatement(full.approvals.eventBus).toStatementJson()),
        full.template,
      ),
    ],
  };
  const busPolicy = {
    Version: '2012-10-17',
    Statement: Object.values(resourcesOfType(full.template, 'AWS::Events::EventBusPolicy')).map((policy) =>
      resolveDocument(policy.Properties?.Statement, full.template),
    ),
  };

  /** One PutEvents call by an agent's role, tagged with `agentId`, carrying entries with these sources. */
  const putEvents = (
    agentId: string | undefined,
    sources: readonly string[],
    options: { account?: string; identityPolicy?: unknown; detailTypes?: readonly string[] } = {},
  ) =>
    simulate({
      request: {
        principal: `arn:aws:sts::${options.account ?? ACCOUNT}:assumed-role/agent-role/agent-session`,
        action: 'events:PutEvents',
        resource: { resource: busArn, accountId: ACCOUNT },
        contextVariables: {
          ...(agentId === undefined ? {} : { 'aws:PrincipalTag/ActionApprovalsAgentId': agentId }),
          'events:source': [...sources],
          'events:detail-type': [...(options.detailTypes ?? sources.map(() => 'Action Requested'))],
        },
      },
      identityPolicies: [{ name: 'agent', policy: options.identityPolicy ?? agentPolicy }],
      resourcePolicy: busPolicy,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    });

  /** An identity policy that lets its holder put anything: only the bus policy stands in the way. */
  const careless = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }],
  };

  test('an agent may put requests as itself, one entry or several', async () => {
    await expect(putEvents('reporting-bot', ['agent.reporting-bot'])).resolves.toBe('Allowed');
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot', 'agent.reporting-bot', 'agent.reporting-bot']),
    ).resolves.toBe('Allowed');
  });

  test('one forged entry among legitimate ones denies the whole call, under the agent’s own policy', async () => {
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot', 'agent.billing-bot', 'agent.reporting-bot']),
    ).resolves.toBe('Denied');
  });

  test('the bus policy alone denies a forged agent source to a principal whose own policy allows anything', async () => {
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot', 'agent.billing-bot'], { identityPolicy: careless }),
    ).resolves.toBe('Denied');
    await expect(putEvents(undefined, ['agent.billing-bot'], { identityPolicy: careless })).resolves.toBe(
      'Denied',
    );
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot'], { identityPolicy: careless }),
    ).resolves.toBe('Allowed');
  });

  test('an agent of another listed account is pinned by the bus policy too', async () => {
    const inOtherAccount = { account: AGENT_ACCOUNT, identityPolicy: careless };
    await expect(putEvents('reporting-bot', ['agent.reporting-bot'], inOtherAccount)).resolves.toBe(
      'Allowed',
    );
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot', 'agent.billing-bot'], inOtherAccount),
    ).resolves.toBe('Denied');
    await expect(putEvents(undefined, ['agent.billing-bot'], inOtherAccount)).resolves.toBe('Denied');
  });

  test('an agent cannot slip another detail-type or an outcome into a request call', async () => {
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot', 'agent.reporting-bot'], {
        detailTypes: ['Action Requested', 'Action Approved'],
      }),
    ).resolves.toBe('Denied');
    await expect(
      putEvents('reporting-bot', ['agent.reporting-bot', 'action-approvals'], { identityPolicy: careless }),
    ).resolves.toBe('Denied');
  });

  const agentId = fc.stringMatching(/^[A-Za-z0-9_-]{2,64}$/);

  test('property: a call is allowed exactly when every entry’s source is the caller’s own agent source', async () => {
    await fc.assert(
      fc.asyncProperty(
        agentId,
        agentId,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (caller, other, forged, ownPolicy) => {
          fc.pre(caller !== other);
          const sources = forged.map((isForged) => `agent.${isForged ? other : caller}`);
          const decision = await putEvents(caller, sources, ownPolicy ? {} : { identityPolicy: careless });
          expect(decision).toBe(forged.includes(true) ? 'Denied' : 'Allowed');
        },
      ),
      { numRuns: 60 },
    );
  });

  test('bus policy statement ids are derived from the stack, not fixed strings', () => {
    const other = testStack();
    deployActionApprovals(other, {}, 'Other');
    const ids = (t: Template) =>
      Object.values(resourcesOfType(t, 'AWS::Events::EventBusPolicy')).map(
        (policy) => policy.Properties?.StatementId as string,
      );
    const mine = ids(full.template);
    expect(mine.length).toBeGreaterThan(0);
    for (const statementId of ids(Template.fromStack(other))) expect(mine).not.toContain(statementId);
  });
});

describe('Attack class 7: sessions cannot reach the system itself', () => {
  const boundaryId = logicalIdOf(full.stack, full.approvals.executionRoles.boundary);
  const boundary = resolveDocument(
    (full.template.toJSON().Resources[boundaryId] as CfnResource).Properties?.PolicyDocument,
    full.template,
  ) as { Version: string; Statement: PolicyStatementJson[] };
  const ALLOW_EVERYTHING = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  };
  const arnOf = (construct: { node: { defaultChild?: unknown } }) =>
    resolveWithPlaceholders({ 'Fn::GetAtt': [logicalIdOf(full.stack, construct), 'Arn'] }, full.template);

  /**
   * Whether a session of an execution role, with a role policy that allows anything, may do this;
   * `tagged`: the resource carries the tag the construct puts on everything it creates.
   */
  const session = (action: string, resource: string, tagged = false) =>
    simulate({
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/data-export/request-1`,
        action,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: tagged ? { 'aws:ResourceTag/ActionApprovals': 'managed' } : {},
      },
      identityPolicies: [{ name: 'ceiling', policy: ALLOW_EVERYTHING }],
      permissionBoundaryPolicies: [{ name: 'boundary', policy: boundary }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    });

  test('a session may export a table that is not the system’s own', async () => {
    await expect(
      session('dynamodb:ExportTableToPointInTime', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orders`),
    ).resolves.toBe('Allowed');
  });

  test('a session can neither export nor read the system’s tables, their streams or their exports', async () => {
    for (const table of [
      full.approvals.requestsTable,
      full.approvals.auditTable,
      full.approvals.idempotencyTable,
    ]) {
      const arn = arnOf(table);
      await expect(session('dynamodb:ExportTableToPointInTime', arn)).resolves.toBe('Denied');
      await expect(session('dynamodb:GetRecords', `${arn}/stream/2026-11-30T00:00:00.000`)).resolves.toBe(
        'Denied',
      );
      await expect(session('dynamodb:DescribeExport', `${arn}/export/01234567890123-abcdef12`)).resolves.toBe(
        'Denied',
      );
    }
  });

  test('the boundary denies every action on the state machine, the bus, every queue and the chat secrets', () => {
    const denied = (boundaryStatements: PolicyStatementJson[], action: string) =>
      boundaryStatements
        .filter(
          (statement) =>
            statement.Effect === 'Deny' &&
            statement.Condition === undefined &&
            ([] as string[]).concat(statement.Action).includes(action),
        )
        .flatMap((statement) => ([] as unknown[]).concat(statement.Resource));
    const statements = boundary.Statement;
    expect(denied(statements, 'states:*').sort()).toEqual([
      expect.stringMatching(/^arn:aws:states:\*:111122223333:execution:Test-Workflow-[0-9a-f]{8}:\*$/),
      expect.stringMatching(/^arn:aws:states:\*:111122223333:stateMachine:Test-Workflow-[0-9a-f]{8}$/),
    ]);
    expect(denied(statements, 'events:*')).toContain(arnOf(full.approvals.eventBus as events.EventBus));
    // The dead letters, and the Slack vote queue: a session could otherwise queue a click.
    const voteQueue = full.approvals.node.findChild('SlackVoteQueue') as sqs.Queue;
    expect(denied(statements, 'sqs:*').sort()).toEqual(
      [...Object.values(full.approvals.deadLetterQueues), voteQueue].map(arnOf).sort(),
    );
    expect(denied(statements, 'secretsmanager:*').sort()).toEqual([
      `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${SLACK.botTokenSecret}-??????`,
      `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${SLACK.signingSecret}-??????`,
      TEAMS.appPasswordSecret,
    ]);
  });

  test('whatever the construct tags (outcome queues among them) is denied to sessions, by its tag', () => {
    const tagged = boundary.Statement.find(
      (statement) => statement.Sid === 'NeverThisSystemsTaggedResources',
    );
    expect(tagged).toEqual({
      Sid: 'NeverThisSystemsTaggedResources',
      Effect: 'Deny',
      Action: [
        'cloudwatch:*',
        'dynamodb:*',
        'events:*',
        'iam:*',
        'lambda:*',
        'logs:*',
        'sns:*',
        'sqs:*',
        'states:*',
      ],
      Resource: '*',
      Condition: { Null: { 'aws:ResourceTag/ActionApprovals': 'false' } },
    });
    const outcomeQueue = resourcesOfType(full.template, 'AWS::SQS::Queue')[
      logicalIdOf(full.stack, full.approvals.outcomeQueues['reporting-bot'])
    ];
    expect(outcomeQueue.Properties?.Tags).toEqual([{ Key: 'ActionApprovals', Value: 'managed' }]);
  });

  test('the boundary stays within IAM’s 6,144 characters for a managed policy, however many agents', () => {
    const agents = Object.fromEntries(
      Array.from({ length: 40 }, (_, index) => [`agent-${index}`, { owners: ['o@example.com'] }]),
    );
    const many = deployed({ directory: { ...TEST_DIRECTORY, agents } });
    const document = resolveDocument(
      (
        many.template.toJSON().Resources[
          logicalIdOf(many.stack, many.approvals.executionRoles.boundary)
        ] as CfnResource
      ).Properties?.PolicyDocument,
      many.template,
    );
    expect(JSON.stringify(document).length).toBeLessThan(6_144);
  });

  test('a session cannot send to or purge a queue of the system, nor read a chat secret', async () => {
    // The dead-letter queues are denied by ARN; the outcome queues (one per agent) by their tag.
    for (const [queue, tagged] of [
      [full.approvals.deadLetterQueues.requests, false],
      [full.approvals.outcomeQueues['reporting-bot'], true],
    ] as const) {
      await expect(session('sqs:SendMessage', arnOf(queue), tagged)).resolves.toBe('Denied');
      await expect(session('sqs:PurgeQueue', arnOf(queue), tagged)).resolves.toBe('Denied');
    }
    await expect(session('secretsmanager:GetSecretValue', TEAMS.appPasswordSecret)).resolves.toBe('Denied');
  });

  test('the data-export role writes only <prefix>/AWSDynamoDB/ objects, never a sibling prefix', async () => {
    const role = full.approvals.executionRoles.roles['data-export'] as iam.Role;
    const resource = full.template.toJSON().Resources[logicalIdOf(full.stack, role)] as CfnResource;
    const ceiling = {
      Version: '2012-10-17',
      Statement: (resource.Properties?.Policies as { PolicyDocument: { Statement: unknown[] } }[]).flatMap(
        (policy) => resolveDocument(policy.PolicyDocument.Statement, full.template) as unknown[],
      ),
    };
    const put = (key: string) =>
      simulate({
        request: {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/data-export/request-1`,
          action: 's3:PutObject',
          resource: { resource: `arn:aws:s3:::exports-bucket/${key}`, accountId: ACCOUNT },
          contextVariables: {},
        },
        identityPolicies: [{ name: 'ceiling', policy: ceiling }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      });
    await expect(put('AWSDynamoDB/0001/manifest-files.json')).resolves.toBe('Allowed');
    await expect(put('orders/AWSDynamoDB/0001/manifest-files.json')).resolves.toBe('Allowed');
    await expect(put('orders/AWSDynamoDBX/0001/manifest-files.json')).resolves.toBe('Denied');
    await expect(put('ordersAWSDynamoDB/0001/manifest-files.json')).resolves.toBe('Denied');
    await expect(put('index.html')).resolves.toBe('Denied');
  });

  test('the scheduled export writes only exports/AWSDynamoDB/ in the exports bucket', () => {
    full.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'WriteExport',
            Resource: {
              'Fn::Join': [
                '',
                [
                  { 'Fn::GetAtt': [logicalIdOf(full.stack, full.approvals.exports.bucket), 'Arn'] },
                  '/exports/AWSDynamoDB/*',
                ],
              ],
            },
          }),
        ]),
      },
    });
  });
});

describe('Attack class 8: junk callbacks are counted and alarmed', () => {
  const alarmsOn = (t: Template) =>
    Object.values(resourcesOfType(t, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties?.MetricName === 'UnauthenticatedCallbacks',
    );

  test.each(['slack', 'teams'])(
    'unauthenticated %s callbacks over 5 minutes alarm the alarm topic',
    (channel) => {
      full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ActionApprovals',
        MetricName: 'UnauthenticatedCallbacks',
        Dimensions: [
          { Name: 'channel', Value: channel },
          { Name: 'service', Value: 'action-approvals' },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 10,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalIdOf(full.stack, full.approvals.alarmTopic as sns.Topic) }],
      });
    },
  );

  test('the threshold is a prop, and only configured channels get an alarm', () => {
    const slackOnly = testStack();
    deployActionApprovals(slackOnly, { slack: SLACK, unauthenticatedCallbackThreshold: 3 });
    const alarms = alarmsOn(Template.fromStack(slackOnly));
    expect(alarms.map((alarm) => [alarm.Properties?.Dimensions, alarm.Properties?.Threshold])).toEqual([
      [
        [
          { Name: 'channel', Value: 'slack' },
          { Name: 'service', Value: 'action-approvals' },
        ],
        3,
      ],
    ]);
    const none = testStack();
    deployActionApprovals(none);
    expect(alarmsOn(Template.fromStack(none))).toEqual([]);
  });

  test('the chat functions emit into the namespace and service the alarms watch', () => {
    for (const fn of [full.approvals.handlers.slackInteractions, full.approvals.handlers.teamsMessages]) {
      const resource = full.template.toJSON().Resources[logicalIdOf(full.stack, fn!.function)] as CfnResource;
      expect(
        (resource.Properties?.Environment as { Variables: Record<string, unknown> }).Variables,
      ).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'ActionApprovals',
        POWERTOOLS_SERVICE_NAME: 'action-approvals',
      });
    }
  });

  test('an unauthenticated-callback threshold below 1 is refused', () => {
    expect(() => deployed({ unauthenticatedCallbackThreshold: 0 })).toThrow(
      'ActionApprovals: invalid props:\n  - unauthenticatedCallbackThreshold must be a whole number of at least 1, not 0',
    );
  });
});
