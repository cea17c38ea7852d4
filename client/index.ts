import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { StatusApiClient, StatusApiError, type RequestStatus } from './status';

export { StatusApiClient, StatusApiError, type RequestStatus, type VoteStatus } from './status';

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
      readonly outcome: 'executed' | 'simulated' | 'failed' | 'denied' | 'expired' | 'rejected';
      readonly detail: Readonly<Record<string, unknown>>;
    }
  | { readonly requestId: string; readonly outcome: 'timed-out' };

export interface ActionApprovalsClientOptions {
  readonly events: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly eventBusName: string;
  /** The agent's outcome queue (the construct creates one per registered agent). */
  readonly outcomeQueueUrl: string;
  /**
   * The status API (the construct's HTTP API URL), called with the EventBridge client's
   * credentials and region: followed while waiting, and the answer when the outcome queue has
   * nothing (after a restart, or once the event was consumed elsewhere). @default - queue only
   */
  readonly statusApiUrl?: string;
}

export interface WaitOptions {
  /** Called with each change of the request's status while waiting (needs `statusApiUrl`). */
  readonly onStatus?: (status: RequestStatus) => void;
  /** Called when the request's `Action Approved` event arrives: it runs next. */
  readonly onApproved?: (detail: Readonly<Record<string, unknown>>) => void;
}

/** How often the status API is asked while waiting: the queue's long poll is cut to this. */
const STATUS_POLL_SECONDS = 2;

/** `simulated` ends a request only in local mode: a stand-in answered, nothing in AWS changed. */
const TERMINAL = new Set(['executed', 'simulated', 'failed', 'denied', 'expired', 'rejected']);
type TerminalOutcome = 'executed' | 'simulated' | 'failed' | 'denied' | 'expired' | 'rejected';

export class ActionRejectedByBusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionRejectedByBusError';
  }
}

export class ActionApprovalsClient {
  private readonly status: StatusApiClient | undefined;

  constructor(private readonly options: ActionApprovalsClientOptions) {
    const { events, statusApiUrl } = options;
    this.status = statusApiUrl
      ? new StatusApiClient({
          url: statusApiUrl,
          region: events.config.region,
          credentials: events.config.credentials,
        })
      : undefined;
  }

  /** Puts the request on the bus and waits for its final outcome, or `timeoutMs`. */
  async requestAction(
    input: ActionRequestInput,
    timeoutMs = 15 * 60_000,
    options: WaitOptions = {},
  ): Promise<ActionOutcome> {
    const requestId = input.requestId ?? randomUUID();
    const eventId = await this.put(requestId, input);
    return this.waitForOutcome({ requestId, eventId, agentId: input.agentId }, timeoutMs, options);
  }

  /** One of the agent's requests, from the status API; undefined when it is unknown. */
  async getRequest(agentId: string, requestId: string): Promise<RequestStatus | undefined> {
    return this.requireStatus().getRequest(agentId, requestId);
  }

  /** The agent's recent requests, newest first, from the status API. */
  async listRequests(agentId: string, limit?: number): Promise<RequestStatus[]> {
    return this.requireStatus().listRequests(agentId, limit);
  }

  private requireStatus(): StatusApiClient {
    if (!this.status) throw new Error('the status API is not configured: pass statusApiUrl');
    return this.status;
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

  /**
   * Reads the agent's outcome queue until the request's final outcome arrives. With the status
   * API and `ids.agentId`, also follows the request's status, and takes a final status as the
   * outcome when the queue has nothing for it one poll later.
   */
  async waitForOutcome(
    ids: { requestId: string; eventId?: string; agentId?: string },
    timeoutMs: number,
    options: WaitOptions = {},
  ): Promise<ActionOutcome> {
    const deadline = Date.now() + timeoutMs;
    const { sqs, outcomeQueueUrl: QueueUrl } = this.options;
    let status = ids.agentId ? this.status : undefined;
    let lastSeen = '';
    let settled: ActionOutcome | undefined;
    while (Date.now() < deadline) {
      const pollSeconds = status ? STATUS_POLL_SECONDS : 20;
      const waitSeconds = Math.max(0, Math.min(pollSeconds, Math.floor((deadline - Date.now()) / 1000)));
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
          return { requestId: ids.requestId, outcome: detail.outcome as TerminalOutcome, detail };
        }
        if (detail.outcome === 'approved') options.onApproved?.(detail);
      }
      if (settled) return settled;
      if (status && ids.agentId) {
        try {
          const current = await status.getRequest(ids.agentId, ids.requestId);
          const seen = current ? `${current.state}:${current.approval?.votes.length ?? 0}` : '';
          if (current && seen !== lastSeen) options.onStatus?.(current);
          lastSeen = seen;
          settled = current && outcomeOf(current);
        } catch (error) {
          // A status API this caller may not use leaves the queue to answer, as without one.
          if (!(error instanceof StatusApiError)) throw error;
          status = undefined;
        }
      }
      if (waitSeconds === 0) break;
    }
    return { requestId: ids.requestId, outcome: 'timed-out' };
  }
}

/** The outcome a final status stands for, as the outcome event would have told it. */
function outcomeOf(status: RequestStatus): ActionOutcome | undefined {
  if (!TERMINAL.has(status.state)) return undefined;
  const approvers = (status.approval?.votes ?? [])
    .filter((vote) => vote.decision === 'approve')
    .map((vote) => vote.reviewer);
  const reason =
    status.outcomeReason ?? (status.policy.outcome === 'deny' ? status.policy.reason : undefined);
  return {
    requestId: status.requestId,
    outcome: status.state as TerminalOutcome,
    detail: {
      requestId: status.requestId,
      outcome: status.state,
      agentId: status.agentId,
      operation: status.operation,
      resource: status.resource,
      ...(reason ? { reason } : {}),
      ...(approvers.length > 0 ? { approvers } : {}),
      ...(status.result === undefined ? {} : { result: status.result }),
      ...(status.receipt ? { receipt: status.receipt } : {}),
    },
  };
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
