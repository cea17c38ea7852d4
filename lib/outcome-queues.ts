import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { OUTCOME_SOURCE } from '../lambdas/core/outcome';
import { acknowledge } from './nag';

export interface OutcomeQueuesProps {
  /** The bus the outcome events are published on. */
  readonly eventBus: events.IEventBus;
  /** The agents registered in the directory: one outcome queue each. */
  readonly agentIds: readonly string[];
  readonly removalPolicy: RemovalPolicy;
}

/** The dead-letter queues of the system, by what they catch. */
export interface DeadLetterQueues {
  /** Action Requested events the rule could not deliver to the workflow. */
  readonly requests: sqs.Queue;
  /** Audit stream batches the archive could not write. */
  readonly archive: sqs.Queue;
  /** Scheduled exports that could not be started. */
  readonly exports: sqs.Queue;
  /** Slack clicks the vote worker failed on, when Slack is configured. */
  readonly slackVotes?: sqs.Queue;
}

/**
 * The system's queues: one outcome queue per registered agent, fed by a rule on the agent's id
 * (so an agent's queue never holds another agent's outcomes), and the dead-letter queues. A
 * part of `ActionApprovals` that creates its queues in the construct's own scope (the ids, and
 * so the logical ids, are the ones deployed).
 */
export class OutcomeQueues {
  /** Each registered agent's outcome queue, by agent id. */
  public readonly byAgent: Readonly<Record<string, sqs.Queue>>;
  /** The dead-letter queues. */
  public readonly deadLetters: DeadLetterQueues;

  constructor(scope: Construct, props: OutcomeQueuesProps) {
    const deadLetterQueue = (queueId: string, reason: string) => {
      const queue = new sqs.Queue(scope, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: props.removalPolicy,
      });
      acknowledge(queue, [{ id: 'AwsSolutions-SQS3', reason }]);
      return queue;
    };
    this.deadLetters = {
      requests: deadLetterQueue(
        'RequestsDeadLetters',
        'This queue is the dead-letter queue of the Action Requested rule’s target; a queue does not need a dead-letter queue of its own.',
      ),
      archive: deadLetterQueue(
        'ArchiveFailures',
        'This queue is the on-failure destination of the audit stream mapping; a queue does not need a dead-letter queue of its own.',
      ),
      exports: deadLetterQueue(
        'ExportFailures',
        'This queue is the dead-letter queue of the export schedule; a queue does not need a dead-letter queue of its own.',
      ),
    };

    const queues: Record<string, sqs.Queue> = {};
    for (const agentId of props.agentIds) {
      // Named by CloudFormation (stack name, logical id, random suffix, within SQS's 80
      // characters): a fixed name would clash with a second stack, or with this queue retained
      // after the stack or the agent was removed. Agents find it in the stack's outputs.
      const queue = new sqs.Queue(scope, `Outcomes-${agentId}`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(4),
        removalPolicy: props.removalPolicy,
      });
      acknowledge(queue, [
        {
          id: 'AwsSolutions-SQS3',
          reason:
            'Outcome events are read by one agent client and deleted once handled; a message nobody reads expires with the queue retention, and the audit trail keeps the outcome.',
        },
      ]);
      new events.Rule(scope, `OutcomesRule-${agentId}`, {
        eventBus: props.eventBus,
        description: `action-approvals: outcome events of agent ${agentId} to its queue`,
        eventPattern: { source: [OUTCOME_SOURCE], detail: { agentId: [agentId] } },
        targets: [new eventTargets.SqsQueue(queue, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
      });
      queues[agentId] = queue;
    }
    this.byAgent = queues;
  }

  /** Lets `grantee` read and delete the outcome events of `agentId`, and nothing else's. */
  public grantConsume(grantee: iam.IGrantable, agentId: string): iam.Grant {
    const queue = Object.hasOwn(this.byAgent, agentId) ? this.byAgent[agentId] : undefined;
    if (!queue) throw new Error(`no outcome queue for agent "${agentId}": it is not in the directory`);
    return queue.grantConsumeMessages(grantee);
  }
}
