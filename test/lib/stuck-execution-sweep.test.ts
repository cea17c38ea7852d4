import { Match, Template } from 'aws-cdk-lib/assertions';
import { deployActionApprovals, logicalIdOf, resourcesOfType, testStack } from './deploy';

const stack = testStack();
const approvals = deployActionApprovals(stack);
const template = Template.fromStack(stack);
const sweepId = logicalIdOf(stack, approvals.stuckExecutionSweep.sweep.function);
const sweepRoleId = logicalIdOf(stack, approvals.stuckExecutionSweep.sweep.role);
const requestsId = logicalIdOf(stack, approvals.requestsTable);

interface Statement {
  readonly Sid?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** The statements of the policies attached to the sweep's role. */
function sweepStatements(): Statement[] {
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      ((policy.Properties?.Roles as { Ref: string }[]) ?? []).some((role) => role.Ref === sweepRoleId),
    )
    .flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe('Construct: ActionApprovals › stuck execution sweep', () => {
  test('the Requests table has a sparse keys-only index of executing requests by claim time', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'requestId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'OpenRequests',
          KeySchema: [
            { AttributeName: 'openState', KeyType: 'HASH' },
            { AttributeName: 'executingSince', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]),
    });
  });

  test('a schedule invokes the sweep every five minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [sweepId, 'Arn'] } })],
    });
  });

  test('an execution counts as stuck a minute after the execute function’s timeout', () => {
    const fn = resourcesOfType(template, 'AWS::Lambda::Function')[sweepId];
    const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.STUCK_AFTER_SECONDS).toBe('120');
  });

  test('the sweep may query only the open-requests index, read and write requests, append audit records and publish', () => {
    const granted = sweepStatements()
      .filter((statement) => statement.Sid !== 'TableKeyThroughDynamoDB')
      .flatMap((statement) => ([] as string[]).concat(statement.Action))
      .filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:'))
      .sort();
    expect(granted).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'events:PutEvents',
    ]);
    const query = sweepStatements().find((statement) => statement.Action === 'dynamodb:Query');
    expect(query?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [requestsId, 'Arn'] }, '/index/OpenRequests']],
    });
  });
});
