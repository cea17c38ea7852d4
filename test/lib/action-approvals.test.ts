import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  auditLogTableDefinition,
  idempotencyTableDefinition,
  requestsTableDefinition,
} from '../../lambdas/adapters/tables';
import { CATALOG, ROLE_CLASS } from '../../lambdas/core/catalog';
import { readExecuteSettings } from '../../lambdas/handlers/execute';
import { readPreviewSettings } from '../../lambdas/handlers/evaluate';
import { readSettings } from '../../lambdas/handlers/runtime';
import { EXECUTION_ROLE_CLASSES } from '../../lib/role-ceilings';
import { ActionApprovals, AUDIT_LOG_DENIED_ACTIONS, MAX_DIRECTORY_BYTES } from '../../lib/action-approvals';
import { HANDLER_RUNTIME } from '../../lib/handler-function';
import {
  ACCOUNT,
  deployActionApprovals,
  logicalIdOf,
  resolveWithPlaceholders,
  resourcesOfType,
  SLACK,
  TEAMS,
  TEST_DIRECTORY,
  testStack,
  type CfnResource,
} from './deploy';

// Synthesized once per configuration and shared by the tests below.
const fullStack = testStack();
const full = deployActionApprovals(fullStack, {
  slack: SLACK,
  teams: TEAMS,
  agentAccounts: ['444455556666'],
});
const template = Template.fromStack(fullStack);
const minimalStack = testStack();
deployActionApprovals(minimalStack);
const minimalTemplate = Template.fromStack(minimalStack);

const id = (construct: { node: { defaultChild?: unknown } }) => logicalIdOf(fullStack, construct);
const arnOf = (construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [id(construct), 'Arn'] });
const refOf = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: id(construct) });

interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, unknown>;
}

/** Every Allow statement of every identity policy in the template, with the roles it applies to. */
function allowStatements(t: Template): { roles: string[]; statement: Statement; actions: string[] }[] {
  const found: { roles: string[]; statement: Statement; actions: string[] }[] = [];
  const add = (roles: string[], document: { Statement: Statement[] }) => {
    for (const statement of document.Statement) {
      if (statement.Effect === 'Allow')
        found.push({ roles, statement, actions: ([] as string[]).concat(statement.Action) });
    }
  };
  for (const policy of Object.values(resourcesOfType(t, 'AWS::IAM::Policy'))) {
    const roles = (policy.Properties?.Roles as { Ref: string }[]).map((role) => role.Ref);
    add(roles, policy.Properties?.PolicyDocument as { Statement: Statement[] });
  }
  for (const [roleId, role] of Object.entries(resourcesOfType(t, 'AWS::IAM::Role'))) {
    for (const inline of (role.Properties?.Policies as
      { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? [])
      add([roleId], inline.PolicyDocument);
  }
  return found;
}

function mentions(value: unknown, logicalId: string): boolean {
  return JSON.stringify(value ?? null).includes(`"${logicalId}"`);
}

describe('Construct: ActionApprovals', () => {
  describe('DynamoDB', () => {
    test('the tables use the key schemas the runtime and DynamoDB Local use', () => {
      const tables = resourcesOfType(template, 'AWS::DynamoDB::Table');
      const table = (construct: { node: { defaultChild?: unknown } }) => tables[id(construct)].Properties;
      for (const [construct, definition] of [
        [full.requestsTable, requestsTableDefinition('x')],
        [full.auditTable, auditLogTableDefinition('x')],
        [full.idempotencyTable, idempotencyTableDefinition('x')],
      ] as const) {
        expect(table(construct)).toMatchObject({
          KeySchema: definition.KeySchema,
          AttributeDefinitions: definition.AttributeDefinitions,
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(full.dataKey) },
        });
      }
      expect(table(full.idempotencyTable)).toMatchObject({
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      });
      expect(table(full.requestsTable)).toMatchObject({ DeletionProtectionEnabled: true });
    });

    test('the AuditLog table streams new images, is protected from deletion and always retained', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({
          KeySchema: auditLogTableDefinition('x').KeySchema,
          StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
          DeletionProtectionEnabled: true,
        }),
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    test('the AuditLog table’s resource policy denies every principal updates and deletes', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: auditLogTableDefinition('x').KeySchema,
        ResourcePolicy: {
          PolicyDocument: {
            Statement: [
              {
                Sid: 'AppendOnly',
                Effect: 'Deny',
                Principal: '*',
                Action: [...AUDIT_LOG_DENIED_ACTIONS].sort(),
                Resource: '*',
              },
            ],
          },
        },
      });
      expect(AUDIT_LOG_DENIED_ACTIONS).toEqual(
        expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem']),
      );
    });

    test('no principal in the stack is allowed to update or delete AuditLog items', () => {
      const auditId = id(full.auditTable);
      const forbidden =
        /^dynamodb:(\*|UpdateItem|DeleteItem|BatchWriteItem|PartiQL(Update|Delete|\*)|.*\*.*)$/;
      // The generic roles' ceilings name whole services on every resource: their boundary denies
      // them every action on the system's tables (proven with the IAM simulator in attack-classes).
      const boundaryDeniesTheTable = (roleId: string) => {
        const role = resourcesOfType(template, 'AWS::IAM::Role')[roleId];
        const boundary = (role.Properties?.PermissionsBoundary as { Ref?: string } | undefined)?.Ref;
        const policy = boundary ? resourcesOfType(template, 'AWS::IAM::ManagedPolicy')[boundary] : undefined;
        return (
          (policy?.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? []
        ).some(
          (statement) =>
            statement.Effect === 'Deny' &&
            statement.Condition === undefined &&
            ([] as string[]).concat(statement.Action).includes('dynamodb:*') &&
            mentions(statement.Resource, auditId),
        );
      };
      const offending = allowStatements(template).filter(
        ({ roles, statement, actions }) =>
          (mentions(statement.Resource, auditId) || JSON.stringify(statement.Resource) === '"*"') &&
          actions.some((action) => forbidden.test(action) || action === '*') &&
          !roles.every(boundaryDeniesTheTable),
      );
      expect(offending).toEqual([]);
    });

    test('audit writers are granted PutItem on the AuditLog and nothing more', () => {
      const auditId = id(full.auditTable);
      const onAudit = allowStatements(template).filter(
        ({ statement, actions }) =>
          mentions(statement.Resource, auditId) && actions.some((a) => a.startsWith('dynamodb:')),
      );
      const writers = [
        full.handlers.evaluate,
        full.handlers.requestApproval,
        full.handlers.expire,
        full.handlers.execute,
        full.handlers.fail,
        full.handlers.apiDecision,
        full.handlers.slackInteractions,
        full.handlers.slackVotes,
        full.handlers.teamsMessages,
        full.stuckExecutionSweep.sweep,
      ];
      for (const writer of writers) {
        const grants = onAudit.filter(({ roles }) => roles.includes(id(writer!.role)));
        expect(grants.flatMap(({ actions }) => actions)).toEqual(['dynamodb:PutItem']);
      }
      // Besides the writers, only the scheduled export, the stream reader and the status API
      // (which reads an executed request's receipt) touch the table.
      const others = onAudit.filter(
        ({ roles }) => !writers.some((writer) => roles.includes(id(writer!.role))),
      );
      expect(others.flatMap(({ actions }) => actions).sort()).toEqual([
        'dynamodb:DescribeStream',
        'dynamodb:ExportTableToPointInTime',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:Query',
      ]);
    });
  });

  describe('KMS', () => {
    test('a rotated customer-managed data key and an ECC_NIST_P256 signing key, both retained', () => {
      template.hasResource('AWS::KMS::Key', {
        Properties: Match.objectLike({ EnableKeyRotation: true, KeySpec: Match.absent() }),
        DeletionPolicy: 'Retain',
      });
      template.hasResource('AWS::KMS::Key', {
        Properties: Match.objectLike({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
        DeletionPolicy: 'Retain',
      });
      template.resourceCountIs('AWS::KMS::Key', 2);
    });

    test('only the execute function may sign receipts, with ECDSA_SHA_256', () => {
      const signers = allowStatements(template).filter(({ actions }) => actions.includes('kms:Sign'));
      expect(signers).toEqual([
        {
          roles: [id(full.handlers.execute.role)],
          actions: ['kms:Sign'],
          statement: expect.objectContaining({
            Resource: arnOf(full.receiptKey),
            Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
          }),
        },
      ]);
    });

    test('CloudWatch may use the data key to publish alarms to the encrypted topic', () => {
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'CloudWatchAlarmsPublish',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
    });
  });

  describe('EventBridge', () => {
    test('the bus denies outcome events from anyone but the workflow and the decision path', () => {
      const publishers = [
        full.stateMachine.role,
        full.handlers.apiDecision.role,
        full.handlers.slackVotes!.role,
        full.handlers.teamsMessages!.role,
      ];
      template.hasResourceProperties('AWS::Events::EventBusPolicy', {
        EventBusName: refOf(full.eventBus as events.EventBus),
        Statement: {
          Effect: 'Deny',
          Principal: '*',
          Action: 'events:PutEvents',
          Condition: {
            'ForAnyValue:StringEquals': { 'events:source': 'action-approvals' },
            ArnNotEquals: { 'aws:PrincipalArn': publishers.map((role) => arnOf(role as iam.Role)) },
          },
        },
      });
    });

    test('agents of the listed accounts may put Action Requested events with an agent source', () => {
      template.hasResourceProperties('AWS::Events::EventBusPolicy', {
        Statement: {
          Effect: 'Allow',
          Principal: {
            AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::444455556666:root']] },
          },
          Action: 'events:PutEvents',
          Condition: {
            'ForAllValues:StringEquals': { 'events:detail-type': 'Action Requested' },
            'ForAllValues:StringLike': { 'events:source': 'agent.*' },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        },
      });
      minimalTemplate.resourceCountIs('AWS::Events::EventBusPolicy', 3);
    });

    test('the agent statement pins the source to the caller’s agent-id principal tag', () => {
      const statement = ActionApprovals.agentRequestStatement(full.eventBus);
      expect(fullStack.resolve(statement.toStatementJson())).toEqual({
        Sid: 'AskForActionsAsMyself',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: arnOf(full.eventBus as events.EventBus),
        Condition: {
          'ForAllValues:StringEquals': {
            'events:source': 'agent.${aws:PrincipalTag/ActionApprovalsAgentId}',
            'events:detail-type': 'Action Requested',
          },
          Null: {
            'aws:PrincipalTag/ActionApprovalsAgentId': 'false',
            'events:source': 'false',
            'events:detail-type': 'false',
          },
        },
      });
    });

    test('grantRequest and grantDecide give a principal exactly the documented statements', () => {
      const stack = testStack();
      const approvals = deployActionApprovals(stack);
      const agent = new iam.Role(stack, 'Agent', { assumedBy: new iam.AccountPrincipal(ACCOUNT) });
      const reviewer = new iam.Role(stack, 'Reviewer', { assumedBy: new iam.AccountPrincipal(ACCOUNT) });
      approvals.grantRequest(agent);
      approvals.grantDecide(reviewer);
      const t = Template.fromStack(stack);
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: logicalIdOf(stack, agent) }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'events:PutEvents',
              Resource: { 'Fn::GetAtt': [logicalIdOf(stack, approvals.eventBus as events.EventBus), 'Arn'] },
              Condition: Match.objectLike({
                'ForAllValues:StringEquals': {
                  'events:source': 'agent.${aws:PrincipalTag/ActionApprovalsAgentId}',
                  'events:detail-type': 'Action Requested',
                },
              }),
            },
          ],
        },
      });
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: logicalIdOf(stack, reviewer) }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'execute-api:Invoke',
              Resource: {
                'Fn::Join': [
                  '',
                  Match.arrayWith([Match.stringLikeRegexp('/\\$default/POST/v1/requests/\\*/decision$')]),
                ],
              },
            },
          ],
        },
      });
    });

    test('every Action Requested event starts the workflow, with retries and a dead-letter queue', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: refOf(full.eventBus as events.EventBus),
        EventPattern: { 'detail-type': ['Action Requested'] },
        Targets: [
          Match.objectLike({
            Arn: refOf(full.stateMachine),
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
            DeadLetterConfig: { Arn: arnOf(full.deadLetterQueues.requests) },
          }),
        ],
      });
      const starters = allowStatements(template).filter(({ actions }) =>
        actions.includes('states:StartExecution'),
      );
      expect(starters).toEqual([
        expect.objectContaining({
          actions: ['states:StartExecution'],
          statement: expect.objectContaining({ Resource: refOf(full.stateMachine) }),
        }),
      ]);
    });

    test('an existing bus is used as given, without a resource policy', () => {
      const stack = testStack();
      const bus = events.EventBus.fromEventBusName(stack, 'Existing', 'platform-bus');
      const approvals = deployActionApprovals(stack, { eventBus: bus });
      const t = Template.fromStack(stack);
      expect(approvals.eventBus).toBe(bus);
      t.resourceCountIs('AWS::Events::EventBus', 0);
      t.resourceCountIs('AWS::Events::EventBusPolicy', 0);
      t.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'platform-bus' });
    });
  });

  describe('Step Functions', () => {
    test('a STANDARD state machine with X-Ray and every event logged without execution data', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [Match.anyValue()] },
      });
    });

    test('its role may invoke the four workflow functions and put events on the bus, nothing else', () => {
      const grants = allowStatements(template).filter(({ roles }) =>
        roles.includes(id(full.stateMachine.role as iam.Role)),
      );
      const invoke = grants.find(({ actions }) => actions.includes('lambda:InvokeFunction'));
      const functions = [
        full.handlers.evaluate,
        full.handlers.execute,
        full.handlers.expire,
        full.handlers.requestApproval,
      ].map((fn) => id(fn.function));
      for (const fn of functions) expect(mentions(invoke?.statement.Resource, fn)).toBe(true);
      expect(mentions(invoke?.statement.Resource, id(full.handlers.apiDecision.function))).toBe(false);
      expect(grants.find(({ actions }) => actions.includes('events:PutEvents'))?.statement.Resource).toEqual(
        arnOf(full.eventBus as events.EventBus),
      );
      const rest = grants
        .flatMap(({ actions }) => actions)
        .filter((action) => !['lambda:InvokeFunction', 'events:PutEvents'].includes(action));
      expect(rest.every((action) => action.startsWith('logs:') || action.startsWith('xray:'))).toBe(true);
    });

    test('executions are capped at the longest approval TTL plus an hour', () => {
      const stack = testStack();
      deployActionApprovals(stack, { maxApprovalTtl: Duration.hours(2) });
      const definition = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
      const body = JSON.stringify(Object.values(definition)[0]);
      expect(body).toContain('\\"TimeoutSeconds\\":10800');
    });
  });

  describe('Lambda', () => {
    const functions = () => resourcesOfType(template, 'AWS::Lambda::Function');

    test('every handler runs on ARM64 with the current Node.js runtime, active tracing and source maps', () => {
      const all = Object.values(functions());
      expect(all).toHaveLength(12);
      for (const fn of all) {
        expect(fn.Properties).toMatchObject({
          Runtime: HANDLER_RUNTIME.name,
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }) },
        });
      }
      expect(HANDLER_RUNTIME.name).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(Object.values(resourcesOfType(minimalTemplate, 'AWS::Lambda::Function'))).toHaveLength(9);
    });

    test('each function has a role of its own', () => {
      const roles = Object.values(functions()).map((fn) => JSON.stringify(fn.Properties?.Role));
      expect(new Set(roles).size).toBe(roles.length);
    });

    test('every runtime function’s environment is what lambdas/handlers/runtime.ts reads', () => {
      const fns = functions();
      const environment = (construct: { node: { defaultChild?: unknown } }) => {
        const variables = (
          fns[id(construct)].Properties?.Environment as { Variables: Record<string, unknown> }
        ).Variables;
        return Object.fromEntries(
          Object.entries(variables).map(([name, value]) => [name, resolveWithPlaceholders(value, template)]),
        );
      };
      const { handlers } = full;
      for (const handler of [
        handlers.evaluate,
        handlers.requestApproval,
        handlers.expire,
        handlers.execute,
        handlers.apiDecision,
        handlers.slackVotes!,
        handlers.teamsMessages!,
      ]) {
        const settings = readSettings(environment(handler.function));
        expect(settings).toMatchObject({ POLICY_DIR: '/var/task/policies' });
        expect(JSON.parse(settings.DIRECTORY_JSON)).toEqual(TEST_DIRECTORY);
      }
      const execute = readExecuteSettings({
        ...environment(handlers.execute.function),
        AWS_REGION: 'eu-west-1',
      });
      expect(Object.keys(execute.executionRoles).sort()).toEqual([...EXECUTION_ROLE_CLASSES].sort());
      expect(
        readPreviewSettings({ ...environment(handlers.evaluate.function), AWS_REGION: 'eu-west-1' }),
      ).toEqual({
        roles: { home: resolveWithPlaceholders(arnOf(full.executionRoles.previewRole), template) },
        region: 'eu-west-1',
      });
      expect(execute.receiptKeyId).toMatch(/^arn:aws:kms:/);
      expect(environment(handlers.slackVotes!.function)).toMatchObject({
        SLACK_CHANNEL_ID: SLACK.channelId,
        SLACK_BOT_TOKEN_SECRET_ID: SLACK.botTokenSecret,
        SLACK_SIGNING_SECRET_ID: SLACK.signingSecret,
        IDEMPOTENCY_TABLE_NAME: expect.any(String),
      });
      // Slack's endpoint knows only what answering needs: no bus, no directory, no workflow.
      expect(Object.keys(environment(handlers.slackInteractions!.function)).sort()).toEqual([
        'AUDIT_TABLE_NAME',
        'IDEMPOTENCY_TABLE_NAME',
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'REQUESTS_TABLE_NAME',
        'SLACK_BOT_TOKEN_SECRET_ID',
        'SLACK_CHANNEL_ID',
        'SLACK_SIGNING_SECRET_ID',
        'SLACK_VOTES_QUEUE_URL',
      ]);
      expect(environment(handlers.requestApproval.function)).toMatchObject({
        TEAMS_APP_ID: TEAMS.appId,
        TEAMS_APP_PASSWORD_SECRET_ID: TEAMS.appPasswordSecret,
        TEAMS_SERVICE_URL: TEAMS.serviceUrl,
        TEAMS_CONVERSATION_ID: TEAMS.conversationId,
        TEAMS_TOKEN_URL: `https://login.microsoftonline.com/${TEAMS.tenantId}/oauth2/v2.0/token`,
        TEAMS_TENANT_ID: TEAMS.tenantId,
      });
      expect(environment(handlers.evaluate.function)).not.toHaveProperty('SLACK_BOT_TOKEN_SECRET_ID');
      expect(environment(full.archive.handler.function)).toEqual({
        ARCHIVE_BUCKET_NAME: expect.any(String),
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    test('secrets are named, never inlined, and readable only by the functions that use them', () => {
      const readers = allowStatements(template).filter(({ actions }) =>
        actions.includes('secretsmanager:GetSecretValue'),
      );
      const signingReaders = readers.filter(({ statement }) =>
        JSON.stringify(statement.Resource).includes('slack-signing-secret-??????'),
      );
      expect(signingReaders.flatMap(({ roles }) => roles).sort()).toEqual(
        [id(full.handlers.slackInteractions!.role), id(full.handlers.slackVotes!.role)].sort(),
      );
      const readerRoles = new Set(readers.flatMap(({ roles }) => roles));
      expect(readerRoles.has(id(full.handlers.evaluate.role))).toBe(false);
      expect(readerRoles.has(id(full.handlers.execute.role))).toBe(false);
      expect(readers.flatMap(({ statement }) => ([] as unknown[]).concat(statement.Resource))).toContainEqual(
        TEAMS.appPasswordSecret,
      );
    });

    test('grants, function by function', () => {
      const grantsOf = (handler: { role: iam.Role }) =>
        allowStatements(template)
          .filter(({ roles }) => roles.includes(id(handler.role)))
          .flatMap(({ actions }) => actions)
          .sort();
      const base = [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ];
      const tableKey = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];
      const sorted = (...actions: string[][]) => actions.flat().sort();
      expect(grantsOf(full.handlers.evaluate)).toEqual(
        sorted(base, tableKey, [
          'dynamodb:PutItem',
          'sts:AssumeRole',
          'sts:SetSourceIdentity',
          'sts:TagSession',
        ]),
      );
      expect(grantsOf(full.handlers.requestApproval)).toEqual(
        sorted(base, tableKey, [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:PutItem',
          'secretsmanager:GetSecretValue',
        ]),
      );
      expect(grantsOf(full.handlers.expire)).toEqual(grantsOf(full.handlers.requestApproval));
      expect(grantsOf(full.handlers.execute)).toEqual(
        sorted(base, tableKey, [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:PutItem',
          'sts:AssumeRole',
          'sts:SetSourceIdentity',
          'sts:TagSession',
          'kms:Sign',
        ]),
      );
      const decision = sorted(base, tableKey, [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:PutItem',
        'secretsmanager:GetSecretValue',
        'events:PutEvents',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
      ]);
      expect(grantsOf(full.handlers.apiDecision)).toEqual(decision);
      expect(grantsOf(full.handlers.teamsMessages!)).toEqual(decision);
      const idempotency = [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ];
      // Slack's endpoint: read a request (the parameters modal), record a malformed callback,
      // remember clicks, read its two secrets, queue the click. Nothing that votes.
      expect(grantsOf(full.handlers.slackInteractions!)).toEqual(
        sorted(base, tableKey, idempotency, [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          // The signing secret and the bot token, in one statement.
          'secretsmanager:GetSecretValue',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:SendMessage',
        ]),
      );
      expect(grantsOf(full.handlers.slackVotes!)).toEqual(
        // Its signing secret joins the bot token's statement.
        sorted(decision, idempotency, [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ]),
      );
      expect(grantsOf(full.archive.handler)).toEqual(
        sorted(base, [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          's3:PutObject',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:SendMessage',
        ]),
      );
    });

    test('the table key is usable only through DynamoDB, and SendTaskSuccess only by the decision path', () => {
      const keyGrants = allowStatements(template).filter(({ actions }) => actions.includes('kms:Encrypt'));
      for (const { statement } of keyGrants) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' },
        });
      }
      const resumers = allowStatements(template).filter(({ actions }) =>
        actions.includes('states:SendTaskSuccess'),
      );
      const decisionRoles = [
        full.handlers.apiDecision,
        full.handlers.slackVotes!,
        full.handlers.teamsMessages!,
      ]
        .map((handler) => id(handler.role))
        .sort();
      expect(resumers.flatMap(({ roles }) => roles).sort()).toEqual(decisionRoles);
    });
  });

  describe('Execution roles', () => {
    test('one role per action class, trusted only by the execute role, with a source identity and the request tags', () => {
      const executeRole = arnOf(full.handlers.execute.role);
      for (const roleClass of Object.values(ROLE_CLASS)) {
        const role = full.executionRoles.roles[roleClass];
        expect(role).toBeDefined();
        template.hasResourceProperties('AWS::IAM::Role', {
          RoleName: Match.absent(),
          Path: '/action-approvals/',
          PermissionsBoundary: { Ref: id(full.executionRoles.boundary) },
          AssumeRolePolicyDocument: {
            Statement: [
              {
                Effect: 'Allow',
                Action: 'sts:AssumeRole',
                Principal: { AWS: executeRole },
                Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
              },
              {
                Sid: 'SourceIdentityIsTheAgent',
                Effect: 'Allow',
                Action: 'sts:SetSourceIdentity',
                Principal: { AWS: executeRole },
                Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
              },
              {
                Sid: 'OnlyRequestTags',
                Effect: 'Allow',
                Action: 'sts:TagSession',
                Principal: { AWS: executeRole },
                Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['RequestId', 'Approvers'] } },
              },
            ],
          },
          Description: Match.stringLikeRegexp(roleClass),
        });
      }
    });

    test('each role may run its class’s catalog operations and no other', () => {
      for (const entry of CATALOG) {
        const role = full.executionRoles.roles[entry.roleClass]!;
        const grants = allowStatements(template).filter(({ roles }) => roles.includes(id(role)));
        expect(grants.flatMap(({ actions }) => actions)).toContain(entry.operation);
        for (const other of CATALOG.filter((e) => e.roleClass !== entry.roleClass)) {
          expect(grants.flatMap(({ actions }) => actions)).not.toContain(other.operation);
        }
      }
    });

    test('the boundary allows only approvable actions and denies this system’s roles, functions, logs, stack, buckets and keys', () => {
      const approvable = (
        resourcesOfType(template, 'AWS::IAM::ManagedPolicy')[id(full.executionRoles.boundary)].Properties
          ?.PolicyDocument as { Statement: (Statement & { Sid?: string })[] }
      ).Statement.find((statement) => statement.Sid === 'ApprovableActions');
      const allowed = ([] as string[]).concat(approvable?.Action ?? []);
      // Each catalog operation, by name or by its whole service (which the generic-change role needs).
      for (const { operation } of CATALOG)
        expect([operation, `${operation.split(':')[0]}:*`]).toContainEqual(
          allowed.find((action) => action === operation || action === `${operation.split(':')[0]}:*`),
        );
      expect(allowed.every((action) => /^[a-z0-9-]+:[A-Za-z*]+$/.test(action))).toBe(true);
      template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Sid: 'ApprovableActions', Effect: 'Allow', Resource: '*' }),
            Match.objectLike({ Sid: 'NeverThisSystemsRoles', Effect: 'Deny', Action: 'iam:*' }),
            Match.objectLike({
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
              Condition: { Null: { 'aws:ResourceTag/ActionApprovals': 'false' } },
            }),
            Match.objectLike({
              Sid: 'NeverThisSystemsStack',
              Effect: 'Deny',
              Action: 'cloudformation:*',
              Resource: {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    `:cloudformation:*:${ACCOUNT}:stack/${fullStack.stackName}/*`,
                  ],
                ],
              },
            }),
            Match.objectLike({
              Sid: 'NeverThisSystemsBuckets',
              Effect: 'Deny',
              Action: 's3:*',
              Resource: Match.arrayWith([arnOf(full.archive.bucket), arnOf(full.exports.bucket)]),
            }),
            Match.objectLike({
              Sid: 'NeverThisSystemsKeys',
              Effect: 'Deny',
              Action: 'kms:*',
              Resource: [arnOf(full.dataKey), arnOf(full.receiptKey)],
            }),
          ]),
        },
      });
    });

    test('a disabled class gets no role and is absent from the execute function’s settings; resources can be narrowed', () => {
      const stack = testStack();
      const approvals = deployActionApprovals(stack, {
        executionRoles: {
          'iam-admin': { enabled: false },
          'data-export': { resources: [`arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orders`] },
        },
        revokeSessionsIssuedBefore: new Date('2026-11-24T12:00:00Z'),
      });
      const t = Template.fromStack(stack);
      expect(Object.keys(approvals.executionRoles.roles).sort()).toEqual([
        'data-export',
        'data-read',
        'generic-change',
        'generic-read',
        'lambda-config',
      ]);
      t.hasResourceProperties('AWS::IAM::Role', {
        Policies: [
          {
            PolicyName: 'Ceiling',
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({
                  Action: 'dynamodb:ExportTableToPointInTime',
                  Resource: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orders`,
                }),
                {
                  Sid: 'RevokeOlderSessions',
                  Effect: 'Deny',
                  Action: '*',
                  Resource: '*',
                  Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-11-24T12:00:00.000Z' } },
                },
              ]),
            },
          },
        ],
      });
      const fn = t.toJSON().Resources[logicalIdOf(stack, approvals.handlers.execute.function)] as CfnResource;
      const rolesJson = JSON.stringify(
        (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.EXECUTION_ROLES_JSON,
      );
      expect(rolesJson).not.toContain('iam-admin');
      expect(rolesJson).toContain('data-export');
    });
  });

  describe('Archive', () => {
    test('an Object Lock bucket in compliance mode: versioned, SSE-KMS, TLS only, no public access, logged, retained', () => {
      template.hasResource('AWS::S3::Bucket', {
        Properties: Match.objectLike({
          ObjectLockEnabled: true,
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
          },
          VersioningConfiguration: { Status: 'Enabled' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                BucketKeyEnabled: true,
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: arnOf(full.dataKey),
                },
              },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LoggingConfiguration: {
            DestinationBucketName: refOf(full.accessLogsBucket),
            LogFilePrefix: 'audit-archive/',
          },
        }),
        DeletionPolicy: 'Retain',
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: refOf(full.archive.bucket),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    test('archive retention comes from props', () => {
      const stack = testStack();
      deployActionApprovals(stack, { archiveRetention: Duration.days(2555) });
      Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } },
        },
      });
    });

    test('the stream is read in batches with bisection, bounded retries and an on-failure queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [id(full.auditTable), 'StreamArn'] },
        FunctionName: refOf(full.archive.handler.function),
        StartingPosition: 'TRIM_HORIZON',
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 43200,
        DestinationConfig: { OnFailure: { Destination: arnOf(full.deadLetterQueues.archive) } },
      });
    });

    test('archive lag is alarmed on the iterator age', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'IteratorAge',
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
        Threshold: 15 * 60 * 1000,
        Dimensions: [{ Name: 'FunctionName', Value: refOf(full.archive.handler.function) }],
        AlarmActions: [
          { Ref: logicalIdOf(fullStack, full.alarmTopic as unknown as { node: { defaultChild?: unknown } }) },
        ],
      });
    });
  });

  describe('Exports', () => {
    test('a schedule calls ExportTableToPointInTime directly, with retries and a dead-letter queue', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(1 day)',
        Target: {
          Arn: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:::aws-sdk:dynamodb:exportTableToPointInTime'],
            ],
          },
          RoleArn: arnOf(full.exports.role),
          DeadLetterConfig: { Arn: arnOf(full.deadLetterQueues.exports) },
          RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 7200 },
          Input: Match.objectLike({
            'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('"ExportFormat":"DYNAMODB_JSON"')])],
          }),
        },
      });
      const grants = allowStatements(template).filter(({ roles }) => roles.includes(id(full.exports.role)));
      expect(grants.flatMap(({ actions }) => actions).sort()).toEqual(
        [
          'dynamodb:ExportTableToPointInTime',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          's3:AbortMultipartUpload',
          's3:PutObject',
          's3:PutObjectAcl',
          'sqs:SendMessage',
        ].sort(),
      );
    });

    test('a Glue table over the DYNAMODB_JSON exports and an encrypted Athena workgroup', () => {
      template.hasResourceProperties('AWS::Glue::Table', {
        DatabaseName: full.exports.databaseName,
        TableInput: Match.objectLike({
          StorageDescriptor: Match.objectLike({
            Location: { 'Fn::Join': ['', ['s3://', refOf(full.exports.bucket), '/exports/AWSDynamoDB/']] },
            SerdeInfo: {
              SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
              Parameters: { 'ignore.malformed.json': 'true' },
            },
            Columns: [
              {
                Name: 'item',
                Type: Match.stringLikeRegexp('^struct<requestid:struct<s:string>,seq:struct<n:string>'),
              },
            ],
          }),
        }),
      });
      template.hasResourceProperties('AWS::Athena::WorkGroup', {
        WorkGroupConfiguration: Match.objectLike({
          EnforceWorkGroupConfiguration: true,
          ResultConfiguration: {
            OutputLocation: Match.anyValue(),
            EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: arnOf(full.dataKey) },
          },
        }),
      });
    });

    test('the named queries a compliance team needs', () => {
      const queries = Object.values(resourcesOfType(template, 'AWS::Athena::NamedQuery')).map(
        (query) => query.Properties as { Name: string; QueryString: string },
      );
      expect(queries.map((query) => query.Name)).toEqual([
        'every-action-by-agent',
        'every-approval-by-reviewer',
        'denials-and-expiries',
        'self-approval-attempts',
        'executed-without-receipt',
      ]);
      const sql = Object.fromEntries(queries.map((query) => [query.Name, query.QueryString]));
      expect(sql['self-approval-attempts']).toContain("v.refusal IN ('self-approval', 'owner-approval')");
      expect(sql['executed-without-receipt']).toContain("x.type = 'executed' AND (x.receipt IS NULL");
      expect(sql['denials-and-expiries']).toContain("e.type IN ('denied', 'expired')");
      expect(sql['every-approval-by-reviewer']).toContain("v.decision = 'approve'");
      for (const query of queries)
        expect(query.QueryString).toContain(`"${full.exports.databaseName}"."audit_log_exports"`);
    });
  });

  describe('HTTP API', () => {
    test('the decision and status routes are IAM-authorized; the chat routes verify their caller in code', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Route', 7);
      for (const routeKey of [
        'GET /v1/requests',
        'GET /v1/requests/{id}',
        'GET /v1/agents/{agentId}/requests',
        'GET /v1/agents/{agentId}/requests/{id}',
      ]) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: routeKey,
          AuthorizationType: 'AWS_IAM',
        });
      }
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'POST /v1/requests/{id}/decision',
        AuthorizationType: 'AWS_IAM',
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'POST /slack/interactions',
        AuthorizationType: 'NONE',
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'POST /teams/messages',
        AuthorizationType: 'NONE',
      });
      minimalTemplate.resourceCountIs('AWS::ApiGatewayV2::Route', 5);
    });

    test('the stage is throttled and access-logged without headers or bodies', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
        AccessLogSettings: {
          DestinationArn: Match.anyValue(),
          Format: Match.not(Match.stringLikeRegexp('header|body')),
        },
      });
      const stack = testStack();
      deployActionApprovals(stack, { apiThrottle: { rateLimit: 2, burstLimit: 5 } });
      Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
      });
    });
  });

  describe('Queues and alarms', () => {
    test('Slack clicks wait in an encrypted queue only the endpoint may send to, retried five times, then dead-lettered', () => {
      const queue = full.node.findChild('SlackVoteQueue') as sqs.Queue;
      const deadLetters = full.deadLetterQueues.slackVotes!;
      template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 180,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [id(deadLetters), 'Arn'] },
          maxReceiveCount: 5,
        },
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'OnlySlackEndpointSends',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'sqs:SendMessage',
              Condition: {
                ArnNotEquals: { 'aws:PrincipalArn': arnOf(full.handlers.slackInteractions!.role) },
              },
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [id(queue), 'Arn'] },
        FunctionName: { Ref: id(full.handlers.slackVotes!.function) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(deadLetters), 'QueueName'] } }],
      });
    });

    test('dead-letter queues are encrypted and TLS-only', () => {
      for (const queue of Object.values(full.deadLetterQueues)) {
        template.hasResourceProperties('AWS::SQS::Queue', {
          SqsManagedSseEnabled: true,
          MessageRetentionPeriod: 1_209_600,
        });
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [refOf(queue)],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });

    test('failed executions, dead letters and archive lag alarm an encrypted SNS topic', () => {
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(full.dataKey) });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      // Seven (with Slack's vote dead letters), and one per chat channel for unauthenticated callbacks.
      template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ExecutionsFailed',
        Namespace: 'AWS/States',
        Threshold: 1,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ExecutionsTimedOut',
        Namespace: 'AWS/States',
      });
      for (const queue of Object.values(full.deadLetterQueues)) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }],
          Threshold: 1,
        });
      }
      for (const alarm of Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties?.AlarmActions).toHaveLength(1);
      }
    });
  });

  describe('Props', () => {
    test('the removal policy applies to the Requests table but never to the audit trail or the keys', () => {
      const stack = testStack();
      const approvals = deployActionApprovals(stack, { removalPolicy: RemovalPolicy.DESTROY });
      const t = Template.fromStack(stack).toJSON().Resources as Record<
        string,
        { DeletionPolicy?: string; Properties: Record<string, unknown> }
      >;
      expect(t[logicalIdOf(stack, approvals.requestsTable)]).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: expect.not.objectContaining({ DeletionProtectionEnabled: true }),
      });
      expect(t[logicalIdOf(stack, approvals.auditTable)]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: expect.objectContaining({ DeletionProtectionEnabled: true }),
      });
      expect(t[logicalIdOf(stack, approvals.archive.bucket)].DeletionPolicy).toBe('Retain');
      expect(t[logicalIdOf(stack, approvals.dataKey)].DeletionPolicy).toBe('Retain');
    });

    test('bad props are refused with one error that lists every problem', () => {
      const stack = testStack();
      const act = () =>
        new ActionApprovals(stack, 'Bad', {
          directory: { ...TEST_DIRECTORY, agents: { 'not ok!': { owners: [] } } },
          eventBus: events.EventBus.fromEventBusName(stack, 'Bus', 'existing'),
          eventBusName: 'new-bus',
          agentAccounts: ['12345'],
          slack: {
            channelId: '#approvals',
            botTokenSecret: 'xoxb-1234 5678',
            signingSecret: 'slack/signing',
          },
          teams: {
            appId: 'my-bot',
            appPasswordSecret: 'teams/pw',
            serviceUrl: 'http://insecure.example',
            conversationId: ' ',
          },
          executionRoles: { 'data-read': { resources: [] } },
          maxApprovalTtl: Duration.seconds(30),
          archiveRetention: Duration.hours(36),
          apiThrottle: { rateLimit: 0, burstLimit: 1.5 },
        });
      expect(act).toThrow(
        [
          'ActionApprovals: invalid props:',
          '  - directory: invalid directory: agents.not ok!: Invalid key in record',
          '  - eventBus and eventBusName are mutually exclusive: pass an existing bus, or a name for a new one',
          '  - agentAccounts: "12345" is not a 12-digit account id',
          '  - slack.channelId must be a channel id like C0123ABCD, not "#approvals"',
          "  - slack.botTokenSecret must be the name or ARN of a Secrets Manager secret, never the secret's value",
          '  - teams.appId must be the bot\'s Microsoft App ID (a GUID), not "my-bot"',
          '  - teams.serviceUrl must be an https URL, not "http://insecure.example"',
          '  - teams.conversationId must not be empty',
          '  - executionRoles.data-read.resources must not be empty: disable the class with enabled: false instead',
          '  - maxApprovalTtl must be from 1 minute to 365 days, not 30 seconds',
          '  - archiveRetention must be a whole number of days from 1 to 36500, not 1 day 12 hours',
          '  - apiThrottle needs a positive rateLimit and a whole burstLimit of at least 1, not 0/1.5',
        ].join('\n'),
      );
    });

    test('a directory too large for Lambda’s environment is refused before deployment', () => {
      const stack = testStack();
      const reviewers = Array.from({ length: 60 }, (_, index) => ({
        id: `reviewer-${index}@example.com`,
        groups: ['security'],
      }));
      const bytes = Buffer.byteLength(JSON.stringify({ ...TEST_DIRECTORY, reviewers }));
      expect(() => deployActionApprovals(stack, { directory: { ...TEST_DIRECTORY, reviewers } })).toThrow(
        `ActionApprovals: invalid props:\n  - directory is ${bytes} bytes as JSON; it travels in DIRECTORY_JSON and Lambda allows 4 KB of environment variables per function, so it must stay under ${MAX_DIRECTORY_BYTES} bytes`,
      );
    });
  });

  test('two instances in one stack do not collide', () => {
    const stack = testStack();
    const first = deployActionApprovals(stack, {}, 'First');
    const second = deployActionApprovals(stack, { slack: SLACK }, 'Second');
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    t.resourceCountIs('AWS::DynamoDB::Table', 6);
    t.resourceCountIs('AWS::Events::EventBus', 2);
    t.resourceCountIs('AWS::Athena::WorkGroup', 2);
    expect(first.exports.databaseName).not.toBe(second.exports.databaseName);
    const names = (type: string, key: string) =>
      Object.values(resourcesOfType(t, type)).map((r) => JSON.stringify(r.Properties?.[key]));
    for (const [type, key] of [
      ['AWS::Athena::WorkGroup', 'Name'],
      ['AWS::Glue::Database', 'DatabaseInput'],
      ['AWS::Logs::LogGroup', 'LogGroupName'],
    ] as const) {
      const values = names(type, key).filter((value) => value !== undefined);
      expect(new Set(values).size).toBe(values.length);
    }
  });

  test('an environment-agnostic stack synthesizes too (cdk synth without credentials)', () => {
    const stack = testStack({ env: false });
    deployActionApprovals(stack, { slack: SLACK, teams: TEAMS });
    expect(Stack.of(stack).account).toMatch(/^\$\{Token/);
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});

describe('Construct: ActionApprovals › outcome queues', () => {
  test('each registered agent gets an encrypted, TLS-only queue named by CloudFormation', () => {
    const queue = resourcesOfType(template, 'AWS::SQS::Queue')[id(full.outcomeQueues['reporting-bot'])];
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(queue.Properties?.QueueName).toBeUndefined();
    expect(Object.keys(full.outcomeQueues)).toEqual(Object.keys(TEST_DIRECTORY.agents));
  });

  test('a rule sends only that agent’s outcome events to its queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['action-approvals'], detail: { agentId: ['reporting-bot'] } },
      Targets: Match.arrayWith([Match.objectLike({ Arn: arnOf(full.outcomeQueues['reporting-bot']) })]),
    });
  });

  test('grantOutcomes lets an agent consume its own queue and refuses an unknown agent', () => {
    // A stack of its own: the shared one is already synthesized.
    const stack = testStack();
    const approvals = deployActionApprovals(stack);
    const agentRole = new iam.Role(stack, 'ReportingBotRole', {
      assumedBy: new iam.AccountPrincipal(ACCOUNT),
    });

    approvals.grantOutcomes(agentRole, 'reporting-bot');

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalIdOf(stack, agentRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:DeleteMessage', 'sqs:ReceiveMessage']),
            Resource: { 'Fn::GetAtt': [logicalIdOf(stack, approvals.outcomeQueues['reporting-bot']), 'Arn'] },
          }),
        ]),
      },
    });
    expect(() => approvals.grantOutcomes(agentRole, 'stranger')).toThrow(
      'no outcome queue for agent "stranger": it is not in the directory',
    );
  });
});
