import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ExplainQuery, PolicyExplanation } from '../../lambdas/app/explain-policy';
import { ACTION_REQUEST_FIELDS } from '../../lambdas/core/request';
import {
  ActionRejectedByBusError,
  type ActionApprovalsClient,
  type ActionOutcome,
  type RequestStatus,
} from '../index';

export interface McpServerDeps {
  /** The agent every request is put as; IAM on the bus pins it to the caller's tag. */
  readonly agentId: string;
  readonly approvals: ActionApprovalsClient;
  /** Whether the status API is configured: get_request and list_requests need it. */
  readonly hasStatusApi: boolean;
  readonly explain: (query: Omit<ExplainQuery, 'agentId'>) => Promise<PolicyExplanation>;
  /** How long request_action waits for the outcome before it answers `pending`. */
  readonly waitMs: number;
}

const FIELDS = ACTION_REQUEST_FIELDS;

const APPROVAL_NOTE =
  'Approval is given by people (security reviewers, operators), not by software: it may take minutes. ' +
  'The outcome is final: a denied, expired or rejected request must not be retried in the hope of a different ' +
  'answer, and no other way around it should be tried.';

const requestActionInput = {
  operation: FIELDS.operation.describe('The IAM action, e.g. "dynamodb:ExportTableToPointInTime".'),
  resource: FIELDS.resource.describe('The ARN of the one resource the action is for (no wildcards).'),
  parameters: FIELDS.parameters
    .optional()
    .describe('The API call’s parameters. What is approved is exactly these; any change is a new request.'),
  justification: FIELDS.justification.describe('Why the action is needed, for the people who decide.'),
  ttlSeconds: FIELDS.ttlSeconds
    .optional()
    .describe('How long approval may take and the session may live, 60-3600 s; the policy may shorten it.'),
  requestId: FIELDS.requestId.optional().describe('A unique id; a random one when omitted.'),
};

const explainInput = {
  operation: requestActionInput.operation,
  resource: requestActionInput.resource,
  parameters: FIELDS.parameters.optional().describe('When given, also checked as a real request would be.'),
  ttlSeconds: requestActionInput.ttlSeconds,
};

const text = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
  ...(isError ? { isError: true } : {}),
});

/** The progress line a status stands for, or nothing when there is nothing new to say. */
export function progressMessage(status: RequestStatus): string | undefined {
  switch (status.state) {
    case 'awaiting-approval': {
      const quorum = status.approval?.quorum ?? 1;
      return `waiting for ${quorum} approval${quorum === 1 ? '' : 's'}: ${status.approval?.approvals ?? 0} of ${quorum}`;
    }
    case 'approved':
    case 'executing':
      return 'executing';
    default:
      return undefined;
  }
}

/** What request_action answers: the outcome as the model should read it. */
export function toolOutcome(
  outcome: ActionOutcome,
  status: RequestStatus | undefined,
): Record<string, unknown> {
  const { requestId } = outcome;
  if (outcome.outcome === 'timed-out') {
    return {
      requestId,
      outcome: 'pending',
      message:
        'Reviewers have not decided yet. Do not ask again: call get_request with this requestId later to learn the outcome.',
    };
  }
  const detail = outcome.detail as {
    reason?: string;
    reasons?: string[];
    approvers?: string[];
    result?: unknown;
    receipt?: string;
  };
  switch (outcome.outcome) {
    case 'executed':
      return {
        requestId,
        outcome: 'executed',
        result: detail.result,
        approvedBy: detail.approvers ?? [],
        ...(detail.receipt ? { receipt: detail.receipt } : {}),
      };
    case 'simulated':
      return {
        requestId,
        outcome: 'simulated',
        message:
          'Approved, but run in local mode against a stand-in, not against AWS: nothing outside this machine changed.',
        ...(detail.reason ? { reason: detail.reason } : {}),
        result: detail.result,
        approvedBy: detail.approvers ?? [],
        ...(detail.receipt ? { receipt: detail.receipt } : {}),
      };
    case 'denied': {
      const denial = status?.approval?.votes.find((vote) => vote.decision === 'deny');
      return {
        requestId,
        outcome: 'denied',
        reason: detail.reason ?? status?.outcomeReason ?? 'denied',
        decidedBy: denial ? { reviewer: denial.reviewer, at: denial.at, channel: denial.channel } : 'policy',
      };
    }
    case 'rejected':
      return {
        requestId,
        outcome: 'rejected',
        reasons: detail.reasons ?? [detail.reason ?? 'malformed request'],
      };
    default:
      return { requestId, outcome: outcome.outcome, ...(detail.reason ? { reason: detail.reason } : {}) };
  }
}

/**
 * The agent's side of action-approvals as MCP tools: ask for an action and wait for people to
 * decide, look up requests, and see what the policy would decide. No reviewer-side tools.
 */
export function createMcpServer(deps: McpServerDeps): McpServer {
  const server = new McpServer({ name: 'action-approvals', version: '0.1.0' });
  const { agentId, approvals } = deps;

  server.registerTool(
    'request_action',
    {
      title: 'Ask for a privileged AWS action',
      description:
        `Asks for permission to run one privileged AWS action (one IAM action on one resource) as agent "${agentId}", ` +
        `and runs it once if approved. ${APPROVAL_NOTE} ` +
        'Returns executed (with the result), simulated (local mode only: a stand-in answered, AWS was not called), denied (with the reason and who decided), expired, failed, or rejected ' +
        '(with the reasons the request is malformed). If the decision takes longer than this call may wait, returns ' +
        '"pending" with the requestId: then call get_request later instead of asking again. ' +
        'Call explain_policy first to learn whether the action would be denied or how many approvals it needs.',
      inputSchema: requestActionInput,
      annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => {
      const requestId = args.requestId ?? randomUUID();
      const token = extra._meta?.progressToken;
      let step = 0;
      let sent = Promise.resolve();
      let lastMessage = '';
      const progress = (message: string) => {
        if (token === undefined || message === lastMessage) return;
        lastMessage = message;
        step += 1;
        const params = { progressToken: token, progress: step, message };
        sent = sent.then(() => extra.sendNotification({ method: 'notifications/progress', params }));
      };

      let eventId: string;
      try {
        eventId = await approvals.put(requestId, {
          agentId,
          operation: args.operation,
          resource: args.resource,
          parameters: args.parameters ?? {},
          justification: args.justification,
          ...(args.ttlSeconds === undefined ? {} : { ttlSeconds: args.ttlSeconds }),
        });
      } catch (error) {
        if (error instanceof ActionRejectedByBusError) {
          return text(
            {
              requestId,
              outcome: 'rejected',
              reasons: [`the event bus refused the request: ${error.message}`],
            },
            true,
          );
        }
        throw error;
      }
      progress('evaluating');
      const outcome = await approvals.waitForOutcome({ requestId, eventId, agentId }, deps.waitMs, {
        onStatus: (status) => {
          const message = progressMessage(status);
          if (message) progress(message);
        },
        onApproved: () => progress('executing'),
      });
      await sent;
      const status =
        deps.hasStatusApi && outcome.outcome === 'denied'
          ? await approvals.getRequest(agentId, requestId)
          : undefined;
      return text(toolOutcome(outcome, status));
    },
  );

  server.registerTool(
    'get_request',
    {
      title: 'Look up one of my requests',
      description:
        'The current state of one of this agent’s requests: state, policy decision, votes so far (who, when, ' +
        'through which channel), expiry, the exact parameters, and the receipt once executed. Use it after ' +
        `request_action answered "pending" or after a restart. ${APPROVAL_NOTE}`,
      inputSchema: { requestId: FIELDS.requestId.describe('The id request_action returned.') },
      annotations: { readOnlyHint: true },
    },
    async ({ requestId }) => {
      if (!deps.hasStatusApi)
        return text({ error: 'the status API is not configured (ACTION_APPROVALS_STATUS_URL)' }, true);
      const status = await approvals.getRequest(agentId, requestId);
      return status ? text(status) : text({ error: `no request "${requestId}"` }, true);
    },
  );

  server.registerTool(
    'list_requests',
    {
      title: 'List my recent requests',
      description: 'This agent’s recent requests and their states, newest first.',
      inputSchema: {
        limit: z.number().int().min(1).max(100).optional().describe('At most this many; 25 when omitted.'),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ limit }) => {
      if (!deps.hasStatusApi)
        return text({ error: 'the status API is not configured (ACTION_APPROVALS_STATUS_URL)' }, true);
      const requests = await approvals.listRequests(agentId, limit);
      return text(
        requests.map(({ requestId, state, operation, resource, createdAt, expiresAt }) => ({
          requestId,
          state,
          operation,
          resource,
          createdAt,
          expiresAt,
        })),
      );
    },
  );

  server.registerTool(
    'explain_policy',
    {
      title: 'What would the policy decide?',
      description:
        'Says what the approval policy would decide for an action on a resource — denied, auto-approved, or ' +
        'needing N approvals from which groups — without asking for anything, so you can plan before you ask. ' +
        'The real request is decided the same way, by the same policy.',
      inputSchema: explainInput,
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const explanation = await deps.explain({
        operation: args.operation,
        resource: args.resource,
        ...(args.parameters ? { parameters: args.parameters } : {}),
        ...(args.ttlSeconds === undefined ? {} : { ttlSeconds: args.ttlSeconds }),
      });
      return text(explanation);
    },
  );

  return server;
}
