import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ActionApprovals } from '../../lib/action-approvals';
import {
  ACCOUNT,
  deployActionApprovals,
  FEATURE_FLAGS,
  REGION,
  resourcesOfType,
  SLACK,
  TEAMS,
  TEST_DIRECTORY,
  testStack,
} from './deploy';

/** A stack named `stackName` in an app of its own, bundling skipped, with the construct deployed. */
function deployIn(app: App, stackName: string) {
  const stack = new Stack(app, stackName, { env: { account: ACCOUNT, region: REGION } });
  const approvals = deployActionApprovals(stack, {
    slack: SLACK,
    teams: TEAMS,
    agentAccounts: ['444455556666'],
  });
  return { stack, approvals, template: Template.fromStack(stack) };
}

const appContext = { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] };

/** Where each resource type carries the name CloudFormation creates it under, when it has one. */
const PHYSICAL_NAME_PROPERTIES: Readonly<Record<string, (properties: Record<string, unknown>) => unknown>> = {
  'AWS::Events::EventBus': (p) => p.Name,
  'AWS::Events::EventBusPolicy': (p) => p.StatementId,
  'AWS::StepFunctions::StateMachine': (p) => p.StateMachineName,
  'AWS::Logs::LogGroup': (p) => p.LogGroupName,
  'AWS::Athena::WorkGroup': (p) => p.Name,
  'AWS::Glue::Database': (p) => (p.DatabaseInput as { Name?: unknown } | undefined)?.Name,
  'AWS::SQS::Queue': (p) => p.QueueName,
  'AWS::SNS::Topic': (p) => p.TopicName,
  'AWS::S3::Bucket': (p) => p.BucketName,
  'AWS::DynamoDB::Table': (p) => p.TableName,
  'AWS::Lambda::Function': (p) => p.FunctionName,
  'AWS::IAM::Role': (p) => p.RoleName,
  'AWS::IAM::ManagedPolicy': (p) => p.ManagedPolicyName,
  'AWS::Scheduler::Schedule': (p) => p.Name,
  'AWS::CloudWatch::Alarm': (p) => p.AlarmName,
};

function physicalNames(template: Template): Map<string, string> {
  const names = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.toJSON().Resources as Record<string, never>)) {
    const { Type, Properties } = resource as { Type: string; Properties?: Record<string, unknown> };
    const name = PHYSICAL_NAME_PROPERTIES[Type]?.(Properties ?? {});
    if (name !== undefined) names.set(JSON.stringify(name), `${Type} ${logicalId}`);
  }
  return names;
}

describe('Deploys like real infrastructure: physical names', () => {
  test('two stacks in one app synthesize with no physical name in common', () => {
    const app = new App({ context: appContext });
    const stacks = ['ApprovalsBlue', 'ApprovalsGreen'].map((stackName) => {
      const stack = new Stack(app, stackName, { env: { account: ACCOUNT, region: REGION } });
      deployActionApprovals(stack, { slack: SLACK, teams: TEAMS, agentAccounts: ['444455556666'] });
      return stack;
    });
    const [first, second] = stacks.map((stack) => physicalNames(Template.fromStack(stack)));
    expect([...first.values()].map((what) => what.split(' ')[0]).sort()).toEqual(
      expect.arrayContaining([
        'AWS::Athena::WorkGroup',
        'AWS::Events::EventBus',
        'AWS::Events::EventBusPolicy',
        'AWS::Glue::Database',
        'AWS::Logs::LogGroup',
        'AWS::StepFunctions::StateMachine',
      ]),
    );
    const shared = [...first.keys()].filter((name) => second.has(name)).map((name) => first.get(name));
    expect(shared).toEqual([]);
  });

  test('the same construct path in stacks of two names gets two sets of names', () => {
    const blue = physicalNames(deployIn(new App({ context: appContext }), 'Blue').template);
    const green = physicalNames(deployIn(new App({ context: appContext }), 'Green').template);
    expect([...blue.keys()].filter((name) => green.has(name))).toEqual([]);
  });

  test('retained resources with a name take a new one each time the stack is created', () => {
    const { template } = deployIn(new App({ context: appContext }), 'Retained');
    const stackUuid = { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] };
    const [workGroup] = Object.values(resourcesOfType(template, 'AWS::Athena::WorkGroup'));
    expect(JSON.stringify(workGroup.Properties?.Name)).toContain(JSON.stringify(stackUuid));
    const logGroups = Object.values(resourcesOfType(template, 'AWS::Logs::LogGroup'))
      .map((group) => JSON.stringify(group.Properties?.LogGroupName))
      .filter((name) => name !== undefined);
    expect(logGroups).toEqual([expect.stringContaining(JSON.stringify(stackUuid))]);
  });

  test('outcome queues are named by CloudFormation, so neither a second stack nor a retained queue clashes', () => {
    const { template } = deployIn(new App({ context: appContext }), 'Queues');
    for (const queue of Object.values(resourcesOfType(template, 'AWS::SQS::Queue')))
      expect(queue.Properties?.QueueName).toBeUndefined();
  });
});

describe('Deploys like real infrastructure: names within their services’ limits', () => {
  const LONG_STACK_NAME = `A${'b'.repeat(127)}`;

  test('a 128-character stack name still gives every derived name within its service’s limit', () => {
    const { approvals, template } = deployIn(new App({ context: appContext }), LONG_STACK_NAME);
    const sm = Object.values(resourcesOfType(template, 'AWS::StepFunctions::StateMachine'))[0];
    expect((sm.Properties?.StateMachineName as string).length).toBeLessThanOrEqual(80);
    for (const policy of Object.values(resourcesOfType(template, 'AWS::Events::EventBusPolicy')))
      expect((policy.Properties?.StatementId as string).length).toBeLessThanOrEqual(64);
    const bus = Object.values(resourcesOfType(template, 'AWS::Events::EventBus'))[0];
    expect((bus.Properties?.Name as string).length).toBeLessThanOrEqual(256);
    expect(approvals.exports.databaseName.length).toBeLessThanOrEqual(255);
    expect(approvals.exports.databaseName).toMatch(/^[a-z0-9_]+$/);
  });

  test('agent ids of the longest allowed length synthesize: their queues are named within SQS’s limit by CloudFormation', () => {
    const longAgent = 'a'.repeat(64);
    const stack = testStack();
    const approvals = deployActionApprovals(stack, {
      directory: { ...TEST_DIRECTORY, agents: { [longAgent]: { owners: ['owner@example.com'] } } },
    });
    expect(Object.keys(approvals.outcomeQueues)).toEqual([longAgent]);
  });

  test('an event bus name over EventBridge’s limit is refused with the limit in the message', () => {
    expect(() => deployActionApprovals(testStack(), { eventBusName: 'b'.repeat(257) })).toThrow(
      `ActionApprovals: invalid props:\n  - eventBusName "${'b'.repeat(257)}" must be 1 to 256 of the characters A-Z a-z 0-9 . _ - (EventBridge's limit)`,
    );
  });
});

describe('Deploys like real infrastructure: approvals end inside the workflow’s time limit', () => {
  test('a maxApprovalTtl shorter than the longest policy @ttl is refused at synth', () => {
    expect(() => deployActionApprovals(testStack(), { maxApprovalTtl: Duration.minutes(10) })).toThrow(
      'ActionApprovals: invalid props:\n  - policy "security-sensitive-services" lets an approval wait 900 seconds (its @ttl), longer than maxApprovalTtl (10 minutes, 600 seconds): raise maxApprovalTtl or shorten the @ttl',
    );
  });

  test('a maxApprovalTtl as long as the longest policy @ttl is accepted', () => {
    const approvals = deployActionApprovals(testStack(), { maxApprovalTtl: Duration.minutes(15) });
    expect(approvals).toBeInstanceOf(ActionApprovals);
  });
});
