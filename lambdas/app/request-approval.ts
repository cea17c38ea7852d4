import { approvalCard } from '../core/card';
import type { ChatMessageRefs } from '../core/lifecycle';
import { ConflictError } from './errors';
import type { ApprovalNotifier, RequestPathDeps } from './ports';
import { onLatest } from './retry';

export interface RequestApprovalDeps extends RequestPathDeps {
  readonly notifiers: readonly ApprovalNotifier[];
  /** Reports a channel that could not be reached; the request stays open for the others. */
  readonly onNotifierError: (channel: string, error: unknown) => void;
}

export interface RequestApprovalInput {
  readonly requestId: string;
  readonly taskToken: string;
}

/**
 * The workflow's `.waitForTaskToken` task: keeps the token server-side with the request and asks
 * reviewers. Chat cards carry only the request id; the token never leaves the Requests table.
 */
export async function requestApproval(input: RequestApprovalInput, deps: RequestApprovalDeps): Promise<void> {
  const stored = await onLatest(deps.requests, input.requestId, async (record) => {
    if (record.state !== 'awaiting-approval') {
      throw new ConflictError(`request is ${record.state}, not awaiting approval`, record.requestId);
    }
    // A retried invocation finds the token already stored and the cards already posted.
    if (record.taskToken === input.taskToken) return undefined;
    return deps.requests.save(record, { taskToken: input.taskToken }, [
      {
        requestId: record.requestId,
        at: deps.clock.now().toISOString(),
        type: 'approval-requested',
        actor: { kind: 'system', id: 'request-approval' },
        parametersHash: record.request.parametersHash,
        details: {
          channels: deps.notifiers.map((notifier) => notifier.channel),
          quorum: record.rule?.quorum ?? 1,
          approverGroups: [...(record.rule?.approverGroups ?? [])],
          expiresAt: record.expiresAt,
        },
      },
    ]);
  });
  if (!stored) return;

  const card = approvalCard(stored);
  const posted = await Promise.all(
    deps.notifiers.map(async (notifier): Promise<ChatMessageRefs> => {
      try {
        return await notifier.post(card);
      } catch (error) {
        deps.onNotifierError(notifier.channel, error);
        return {};
      }
    }),
  );
  const messages = Object.assign({}, ...posted) as ChatMessageRefs;
  if (Object.keys(messages).length === 0) return;
  await onLatest(deps.requests, input.requestId, (record) =>
    deps.requests.save(record, { messages: { ...record.messages, ...messages } }),
  );
}
