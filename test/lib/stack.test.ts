import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionApprovalsStack } from '../../lib/action-approvals-stack';
import { CONTEXT_KEY, settingsFromContext } from '../../lib/settings';
import { FEATURE_FLAGS, logicalIdOf, SLACK, TEST_DIRECTORY } from './deploy';

const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

describe('Stack: ActionApprovalsStack from cdk.json', () => {
  test('the shipped cdk.json context reads into props with the documented defaults', () => {
    const settings = settingsFromContext(cdkJson.context[CONTEXT_KEY]);

    expect(settings.stackName).toBe('ActionApprovals');
    expect(settings.props).toMatchObject({
      archiveRetention: Duration.days(365),
      exportRetention: Duration.days(90),
      maxApprovalTtl: Duration.minutes(720),
      apiThrottle: { rateLimit: 10, burstLimit: 20 },
      logRetention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    expect(settings.props).not.toHaveProperty('slack');
    expect(settings.props.exportSchedule?.expressionString).toBe('rate(1 day)');
  });

  test('a context with mistakes is refused with every problem named', () => {
    const act = () =>
      settingsFromContext({
        slack: { channelId: 'C1', botToken: 'xoxb-…' },
        archiveRetentionDays: 0.5,
        logRetentionDays: 42,
        removalPolicy: 'snapshot',
        exportSchedule: 'every day',
      });

    expect(act).toThrow(/^cdk\.json context "action-approvals" is invalid:\n/);
    expect(act).toThrow(/directory: directory is required/);
    expect(act).toThrow(/slack: Unrecognized key: "botToken"/);
    expect(act).toThrow(/archiveRetentionDays: /);
    expect(act).toThrow(/logRetentionDays: logRetentionDays must be one CloudWatch Logs offers/);
    expect(act).toThrow(/removalPolicy: /);
    expect(act).toThrow(/exportSchedule: exportSchedule must be rate\(…\) or cron\(…\)/);
  });

  test('the stack deploys the construct and outputs what operators and agents need', () => {
    const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
    const stack = new ActionApprovalsStack(app, 'ActionApprovals', {
      approvals: { directory: TEST_DIRECTORY, slack: SLACK },
      alarmEmail: 'oncall@example.com',
    });
    const template = Template.fromStack(stack);

    for (const output of [
      'EventBusName',
      'EventBusArn',
      'ApiUrl',
      'DecisionUrl',
      'SlackRequestUrl',
      'StateMachineArn',
      'ReceiptKeyArn',
      'AuditTableName',
      'ArchiveBucketName',
      'ExportsBucketName',
      'AthenaWorkGroup',
      'AlarmTopicArn',
    ]) {
      template.hasOutput(output, { Value: Match.anyValue() });
    }
    expect(template.findOutputs('TeamsMessagingEndpoint')).toEqual({});
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  test('the stack outputs each agent’s outcome queue URL, each execution role’s ARN and the Glue database', () => {
    const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
    const stack = new ActionApprovalsStack(app, 'ActionApprovals', {
      approvals: { directory: TEST_DIRECTORY },
    });
    const template = Template.fromStack(stack);

    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'OutcomeQueueUrlreportingbot',
        'ExecutionRoleArndataexport',
        'ExecutionRoleArndataread',
        'ExecutionRoleArniamadmin',
        'ExecutionRoleArnlambdaconfig',
        'ExecutionRoleArngenericread',
        'ExecutionRoleArngenericchange',
        'GlueDatabase',
      ]),
    );
    template.hasOutput('ExecuteRoleArn', {
      Value: { 'Fn::GetAtt': [logicalIdOf(stack, stack.approvals.handlers.execute.role), 'Arn'] },
    });
    template.hasOutput('EvaluateRoleArn', {
      Value: { 'Fn::GetAtt': [logicalIdOf(stack, stack.approvals.handlers.evaluate.role), 'Arn'] },
    });
    template.hasOutput('OutcomeQueueUrlreportingbot', {
      Value: { Ref: logicalIdOf(stack, stack.approvals.outcomeQueues['reporting-bot']) },
    });
  });
});
