import { anthropic } from '@ai-sdk/anthropic';
import { generateText, stepCountIs, tool } from 'ai';
import { z } from 'zod';
import { callApprovals, connectApprovals } from './approvals.js';

/**
 * A reporting agent on the Vercel AI SDK. It holds no AWS permission of its own beyond asking:
 * every privileged action is a `request_action` call, decided by people, run once if approved.
 */
const approvals = await connectApprovals();

const action = {
  operation: z.string().describe('IAM action, e.g. "dynamodb:ExportTableToPointInTime"'),
  resource: z.string().describe('ARN of the one resource it acts on'),
};

const tools = {
  explainPolicy: tool({
    description:
      'What the approval policy would decide for an AWS action on a resource (denied, auto-approved, or how many ' +
      'approvals from which groups), without asking. Call it before requestAction.',
    inputSchema: z.object(action),
    execute: (input) => callApprovals(approvals, 'explain_policy', input),
  }),
  requestAction: tool({
    description:
      'Runs one privileged AWS action once people approve it. Approval is by people and may take minutes; the ' +
      'outcome is final: never retry a denied, expired or rejected request, and never look for another way round it. ' +
      'An answer of "pending" means reviewers have not decided yet: check later with getRequest.',
    inputSchema: z.object({
      ...action,
      parameters: z.record(z.string(), z.unknown()).describe('The API call’s parameters, exactly'),
      justification: z.string().describe('Why, for the reviewers'),
    }),
    execute: (input) => callApprovals(approvals, 'request_action', input),
  }),
  getRequest: tool({
    description: 'The current state of one of my requests.',
    inputSchema: z.object({ requestId: z.string() }),
    execute: (input) => callApprovals(approvals, 'get_request', input),
  }),
};

try {
  const { text } = await generateText({
    model: anthropic('claude-sonnet-4-5'),
    system:
      'You prepare quarterly revenue reports from the AWS account 111122223333 (eu-west-1). You have no AWS ' +
      'permissions: ask for each privileged action with requestAction, after checking it with explainPolicy.',
    prompt:
      process.argv[2] ?? 'Export the orders table to s3://revenue-exports/orders/2026-q3/ for the Q3 report.',
    tools,
    stopWhen: stepCountIs(8),
  });
  process.stdout.write(`${text}\n`);
} finally {
  await approvals.close();
}
