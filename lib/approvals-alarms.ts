import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { DeadLetterQueues } from './outcome-queues';
import { CALLBACK_METRICS } from './props';

export interface ApprovalsAlarmsProps {
  /** The topic to notify; without one, a topic encrypted with `key` is created. */
  readonly topic?: sns.ITopic;
  /** Encrypts the created topic. */
  readonly key: kms.Key;
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueues: DeadLetterQueues;
  /** Alarms made elsewhere that notify the same topic (the archive's lag). */
  readonly otherAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The chat channels configured: each gets an unauthenticated-callback alarm. */
  readonly chatChannels: readonly ('slack' | 'teams')[];
  /** Unauthenticated callbacks per channel in 5 minutes that raise its alarm. */
  readonly unauthenticatedCallbackThreshold: number;
}

/**
 * Every alarm of the system, each notifying one topic: failed or timed-out executions, dead
 * letters, archive lag, unauthenticated chat callbacks. A part of `ActionApprovals` that creates
 * its alarms in the construct's own scope (the ids, and so the logical ids, are the ones deployed).
 */
export class ApprovalsAlarms {
  /** Where alarms notify. */
  public readonly topic: sns.ITopic;
  /** Every alarm, by what it watches. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(
    private readonly scope: Construct,
    props: ApprovalsAlarmsProps,
  ) {
    this.topic = props.topic ?? encryptedTopic(scope, props.key);
    const fiveMinutes = Duration.minutes(5);
    const deadLetters = (queue: sqs.IQueue) =>
      queue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: cloudwatch.Stats.MAXIMUM,
      });
    const alarms: Record<string, cloudwatch.Alarm> = {
      workflowFailed: this.atLeastOne(
        props.stateMachine.metricFailed({ period: fiveMinutes }),
        'A workflow execution failed: a request may have no outcome event.',
        'WorkflowFailedAlarm',
      ),
      workflowTimedOut: this.atLeastOne(
        props.stateMachine.metricTimedOut({ period: fiveMinutes }),
        'A workflow execution ran past the longest approval TTL.',
        'WorkflowTimedOutAlarm',
      ),
      requestsDeadLetters: this.atLeastOne(
        deadLetters(props.deadLetterQueues.requests),
        'Action Requested events could not start the workflow; they wait in the dead-letter queue.',
        'RequestsDeadLettersAlarm',
      ),
      archiveFailures: this.atLeastOne(
        deadLetters(props.deadLetterQueues.archive),
        'Audit stream batches could not be archived; re-read them from the stream (24 hours) or take them from an export.',
        'ArchiveFailuresAlarm',
      ),
      exportFailures: this.atLeastOne(
        deadLetters(props.deadLetterQueues.exports),
        'A scheduled export of the audit log could not be started.',
        'ExportFailuresAlarm',
      ),
      ...(props.deadLetterQueues.slackVotes
        ? {
            slackVoteDeadLetters: this.atLeastOne(
              deadLetters(props.deadLetterQueues.slackVotes),
              'Slack clicks could not be cast after five tries; the reviewers were answered but their votes are not counted. Redrive within the hour the worker accepts them, or ask the reviewers to click again.',
              'SlackVoteDeadLettersAlarm',
            ),
          }
        : {}),
      ...props.otherAlarms,
      ...this.unauthenticatedCallbackAlarms(props.chatChannels, props.unauthenticatedCallbackThreshold),
    };
    for (const alarm of Object.values(alarms))
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.topic));
    this.alarms = alarms;
  }

  private atLeastOne(metric: cloudwatch.IMetric, description: string, alarmId: string): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this.scope, alarmId, {
      metric,
      alarmDescription: description,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * One alarm per configured chat channel on the callbacks its endpoint refused as
   * unauthenticated (the count the Slack and Teams functions emit, by channel).
   */
  private unauthenticatedCallbackAlarms(
    channels: readonly ('slack' | 'teams')[],
    threshold: number,
  ): Record<string, cloudwatch.Alarm> {
    const alarms: Record<string, cloudwatch.Alarm> = {};
    for (const channel of channels) {
      const name = channel === 'slack' ? 'Slack' : 'Teams';
      alarms[`unauthenticated${name}Callbacks`] = new cloudwatch.Alarm(
        this.scope,
        `Unauthenticated${name}CallbacksAlarm`,
        {
          metric: new cloudwatch.Metric({
            namespace: CALLBACK_METRICS.namespace,
            metricName: CALLBACK_METRICS.unauthenticated,
            dimensionsMap: { service: CALLBACK_METRICS.service, channel },
            statistic: cloudwatch.Stats.SUM,
            period: Duration.minutes(5),
          }),
          alarmDescription: `${name} callbacks that failed authentication (bad signature or token): someone may be probing the ${channel} endpoint.`,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    }
    return alarms;
  }
}

/** The alarms topic, encrypted with the data key, which CloudWatch must be allowed to use. */
function encryptedTopic(scope: Construct, key: kms.Key): sns.Topic {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
  return new sns.Topic(scope, 'Alarms', {
    displayName: 'action-approvals alarms',
    masterKey: key,
    enforceSSL: true,
  });
}
