import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ActionApprovalsClient } from '../index';

/**
 * Who the agent is and where the system is, from the environment an MCP client (or a shell)
 * starts the command with. AWS endpoints, region and credentials come from the SDK's own
 * variables (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL` for the local runtime, …).
 */
export const AGENT_ENVIRONMENT = {
  agentId: 'ACTION_APPROVALS_AGENT_ID',
  eventBus: 'ACTION_APPROVALS_EVENT_BUS',
  outcomeQueueUrl: 'ACTION_APPROVALS_OUTCOME_QUEUE_URL',
  statusUrl: 'ACTION_APPROVALS_STATUS_URL',
  environments: 'ACTION_APPROVALS_ENVIRONMENTS_JSON',
  policyDir: 'ACTION_APPROVALS_POLICY_DIR',
  account: 'ACTION_APPROVALS_ACCOUNT',
  waitSeconds: 'ACTION_APPROVALS_WAIT_SECONDS',
} as const;

export interface AgentOverrides {
  readonly agent?: string;
  readonly statusUrl?: string;
}

export interface AgentConnection {
  readonly agentId: string;
  readonly approvals: ActionApprovalsClient;
  readonly hasStatusApi: boolean;
}

export class AgentSettingsError extends Error {
  override readonly name = 'AgentSettingsError';
}

/** The agent client for the agent these settings name. */
export async function connectAgent(
  environment: NodeJS.ProcessEnv,
  overrides: AgentOverrides = {},
): Promise<AgentConnection> {
  const agentId = overrides.agent ?? environment[AGENT_ENVIRONMENT.agentId];
  if (!agentId) {
    throw new AgentSettingsError(`name the agent: --agent <id> or ${AGENT_ENVIRONMENT.agentId}`);
  }
  const statusApiUrl = overrides.statusUrl ?? environment[AGENT_ENVIRONMENT.statusUrl];
  const sqs = new SQSClient({});
  const outcomeQueueUrl =
    environment[AGENT_ENVIRONMENT.outcomeQueueUrl] ??
    (await sqs.send(new GetQueueUrlCommand({ QueueName: `action-approvals-outcomes-${agentId}` }))).QueueUrl;
  if (!outcomeQueueUrl) throw new AgentSettingsError(`no outcome queue for agent "${agentId}"`);
  return {
    agentId,
    hasStatusApi: statusApiUrl !== undefined,
    approvals: new ActionApprovalsClient({
      events: new EventBridgeClient({}),
      sqs,
      eventBusName: environment[AGENT_ENVIRONMENT.eventBus] ?? 'action-approvals',
      outcomeQueueUrl,
      ...(statusApiUrl ? { statusApiUrl } : {}),
    }),
  };
}
