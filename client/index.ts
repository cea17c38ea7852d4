import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';

/**
 * The agent side of action-approvals: ask for one privileged action and wait for its outcome.
 * It depends on nothing but the AWS SDK, so agent code can import it on its own.
 */

export interface ActionRequestInput {
  /** Must match what IAM lets this caller put as `source` (`agent.<agentId>`). */
  readonly agentId: string;
  /** Unique per request; reusing one is treated as a duplicate. @default - a random UUID */
  readonly requestId?: string;
  /** An IAM action name, e.g. `dynamodb:ExportTableToPointInTime`. */
  readonly operation: string;
  /** The one ARN the action is for. */
  readonly resource: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Shown to reviewers, marked as written by the agent. */
  readonly justification: string;
  readonly context?: Readonly<Record<string, string>>;
  /** How long approval may take and the session may live, 60-3600 s. @default - the policy's */
  readonly ttlSeconds?: number;
}

/** What the agent learns: the outcome event's detail, or that none arrived in time. */
export type ActionOutcome =
  | {
      readonly requestId: string;
      readonly outcome: 'executed' | 'failed' | 'denied' | 'expired' | 'rejected';
      readonly detail: Readonly<Record<string, unknown>>;
    }
  | { readonly requestId: string; readonly outcome: 'timed-out' };

export interface ActionApprovalsClientOptions {
  readonly events: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly eventBusName: string;
  /** The agent's outcome queue (the construct creates one per registered agent). */
  readonly outcomeQueueUrl: string;
}

const TERMINAL = new Set(['executed', 'failed', 'denied', 'expired', 'rejected']);

export class ActionRejectedByBusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionRejectedByBusError';
  }
}

export class ActionApprovalsClient {
  constructor(private readonly options: ActionApprovalsClientOptions) {}

  /** Puts the request on the bus and waits for its final outcome, or `timeoutMs`. */
  async requestAction(input: ActionRequestInput, timeoutMs = 15 * 60_000): Promise<ActionOutcome> {
    const requestId = input.requestId ?? randomUUID();
    const eventId = await this.put(requestId, input);
    return this.waitForOutcome({ requestId, eventId }, timeoutMs);
  }

  /** Puts the `Action Requested` event; returns its event id. */
  async put(requestId: string, input: ActionRequestInput): Promise<string> {
    const result = await this.options.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.options.eventBusName,
            Source: `agent.${input.agentId}`,
            DetailType: 'Action Requested',
            Detail: JSON.stringify({
              requestId,
              action: { operation: input.operation, resource: input.resource, parameters: input.parameters },
              justification: input.justification,
              ...(input.context ? { context: input.context } : {}),
              ...(input.ttlSeconds ? { ttlSeconds: input.ttlSeconds } : {}),
            }),
          },
        ],
      }),
    );
    const entry = result.Entries?.[0];
    if (!entry?.EventId)
      throw new ActionRejectedByBusError(
        `${entry?.ErrorCode ?? 'unknown'}: ${entry?.ErrorMessage ?? 'no event id'}`,
      );
    return entry.EventId;
  }

  /** Reads the agent's outcome queue until the request's final outcome arrives. */
  async waitForOutcome(
    ids: { requestId: string; eventId?: string },
    timeoutMs: number,
  ): Promise<ActionOutcome> {
    const deadline = Date.now() + timeoutMs;
    const { sqs, outcomeQueueUrl: QueueUrl } = this.options;
    while (Date.now() < deadline) {
      const waitSeconds = Math.max(0, Math.min(20, Math.floor((deadline - Date.now()) / 1000)));
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
      );
      for (const message of Messages) {
        const detail = detailOf(message.Body);
        const mine =
          detail &&
          (detail.requestId === ids.requestId ||
            (ids.eventId !== undefined && detail.eventId === ids.eventId));
        if (!mine) {
          // Another request's outcome: hand it straight back for whoever waits on it.
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            }),
          );
          continue;
        }
        await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
        if (TERMINAL.has(String(detail.outcome))) {
          return { requestId: ids.requestId, outcome: detail.outcome as 'executed', detail };
        }
      }
      if (waitSeconds === 0) break;
    }
    return { requestId: ids.requestId, outcome: 'timed-out' };
  }
}

function detailOf(body: string | undefined): Record<string, unknown> | undefined {
  try {
    const event = JSON.parse(body ?? '') as { detail?: unknown };
    return typeof event.detail === 'object' && event.detail !== null
      ? (event.detail as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
