import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ActionApprovals, ROUTES, type ActionApprovalsProps } from './action-approvals';

/** The bundled stack's settings. */
export interface ActionApprovalsStackProps extends StackProps {
  /** The construct's settings. */
  readonly approvals: ActionApprovalsProps;
  /**
   * An address subscribed to the alarms topic; AWS mails it a confirmation link first.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

/** The whole system in one stack, as `npx cdk deploy` deploys it from cdk.json's settings. */
export class ActionApprovalsStack extends Stack {
  /** The system. */
  public readonly approvals: ActionApprovals;

  constructor(scope: Construct, id: string, props: ActionApprovalsStackProps) {
    super(scope, id, props);
    this.approvals = new ActionApprovals(this, 'ActionApprovals', props.approvals);
    const { approvals } = this;
    if (props.alarmEmail && approvals.alarmTopic instanceof sns.Topic) {
      approvals.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });
    output(
      'EventBusName',
      approvals.eventBus.eventBusName,
      'Agents put "Action Requested" events here; outcomes come back here.',
    );
    output(
      'EventBusArn',
      approvals.eventBus.eventBusArn,
      'The resource of the agents’ events:PutEvents statement.',
    );
    output('ApiUrl', approvals.httpApi.apiEndpoint, 'Base URL of the HTTP API.');
    output(
      'DecisionUrl',
      `${approvals.httpApi.apiEndpoint}${ROUTES.decision}`,
      'POST a vote here, signed with SigV4 (service execute-api).',
    );
    if (approvals.handlers.slackInteractions)
      output(
        'SlackRequestUrl',
        `${approvals.httpApi.apiEndpoint}${ROUTES.slack}`,
        'The Slack app’s Interactivity Request URL.',
      );
    if (approvals.handlers.teamsMessages)
      output(
        'TeamsMessagingEndpoint',
        `${approvals.httpApi.apiEndpoint}${ROUTES.teams}`,
        'The Azure Bot’s messaging endpoint.',
      );
    output('StateMachineArn', approvals.stateMachine.stateMachineArn, 'The request workflow.');
    output(
      'ReceiptKeyArn',
      approvals.receiptKey.keyArn,
      'Verify receipts with its public key: aws kms get-public-key --key-id <this>.',
    );
    output('AuditTableName', approvals.auditTable.tableName, 'The append-only audit log.');
    output(
      'ArchiveBucketName',
      approvals.archive.bucket.bucketName,
      'The Object Lock stream archive (archive/…/*.jsonl.gz).',
    );
    output(
      'ExportsBucketName',
      approvals.exports.bucket.bucketName,
      'Scheduled PITR exports of the audit log (exports/AWSDynamoDB/…).',
    );
    output(
      'AthenaWorkGroup',
      approvals.exports.workGroup.ref,
      'Run the named audit queries in this workgroup.',
    );
    output('AlarmTopicArn', approvals.alarmTopic.topicArn, 'Subscribe on-call here.');
    output(
      'GlueDatabase',
      approvals.exports.databaseName,
      'The Glue database of the audit exports; its table is audit_log_exports.',
    );
    for (const [roleClass, role] of Object.entries(approvals.executionRoles.roles))
      output(
        `ExecutionRoleArn-${roleClass}`,
        role.roleArn,
        `The execution role of ${roleClass} actions: only approved requests' sessions use it.`,
      );
    output(
      'ExecuteRoleArn',
      approvals.handlers.execute.role.roleArn,
      'executeRoleArn of a workload account’s ActionApprovalsTargetStack.',
    );
    output(
      'EvaluateRoleArn',
      approvals.handlers.evaluate.role.roleArn,
      'evaluateRoleArn of a workload account’s ActionApprovalsTargetStack (its preview role).',
    );
    for (const [agentId, queue] of Object.entries(approvals.outcomeQueues))
      output(
        `OutcomeQueueUrl-${agentId}`,
        queue.queueUrl,
        `The outcome queue of agent ${agentId}: pass it to the agent client (--queue-url).`,
      );
  }
}
