import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { OUTCOME_SOURCE } from '../lambdas/core/outcome';
import { statementId } from './names';
import { ACTION_REQUESTED, AGENT_ID_TAG, AGENT_SOURCE_OF_CALLER } from './props';

export interface BusPolicyProps {
  /** Other accounts whose agents may put requests. */
  readonly agentAccounts: readonly string[];
  /** The only principals that may publish outcome events: the workflow and the decision path. */
  readonly outcomePublishers: readonly iam.IRole[];
}

/**
 * The resource policy of the bus the construct creates: nobody but the system publishes outcomes,
 * and no principal, in this account or another, puts an `agent.*` source other than its own. In
 * `scope` (the `ActionApprovals` construct), whose path the statement ids are derived from.
 */
export function addBusPolicy(scope: Construct, bus: events.EventBus, props: BusPolicyProps): void {
  // CloudFormation takes each statement id as the physical id of its policy resource, unique in
  // the account and region: derived from the stack and the construct, never a fixed string.
  const addStatement = (name: string, statement: iam.PolicyStatementProps) => {
    const sid = statementId(scope, name);
    new events.EventBusPolicy(bus, name, {
      eventBus: bus,
      statementId: sid,
      statement: new iam.PolicyStatement({ ...statement, sid }).toJSON(),
    });
  };
  // Outcome events are trusted by agents: only the workflow and the decision path may send them.
  addStatement('OnlyThisSystemPublishesOutcomes', {
    effect: iam.Effect.DENY,
    principals: [new iam.StarPrincipal()],
    actions: ['events:PutEvents'],
    resources: [bus.eventBusArn],
    conditions: {
      'ForAnyValue:StringEquals': { 'events:source': OUTCOME_SOURCE },
      ArnNotEquals: { 'aws:PrincipalArn': props.outcomePublishers.map((role) => role.roleArn) },
    },
  });
  // Whatever an agent's own policy says, in this account or another: an `agent.*` source only
  // as the agent its principal tag names. `events:source` holds one value per entry, so one
  // forged entry among legitimate ones denies the whole call.
  const agentSource = { 'ForAnyValue:StringLike': { 'events:source': 'agent.*' } };
  addStatement('AgentSourcesNeedAnAgentTag', {
    effect: iam.Effect.DENY,
    principals: [new iam.StarPrincipal()],
    actions: ['events:PutEvents'],
    resources: [bus.eventBusArn],
    conditions: { ...agentSource, Null: { [`aws:PrincipalTag/${AGENT_ID_TAG}`]: 'true' } },
  });
  addStatement('AgentsSpeakOnlyForThemselves', {
    effect: iam.Effect.DENY,
    principals: [new iam.StarPrincipal()],
    actions: ['events:PutEvents'],
    resources: [bus.eventBusArn],
    conditions: {
      ...agentSource,
      'ForAnyValue:StringNotEquals': { 'events:source': AGENT_SOURCE_OF_CALLER },
    },
  });
  if (props.agentAccounts.length > 0) {
    addStatement('AgentsOfOtherAccountsAsk', {
      principals: props.agentAccounts.map((agentAccount) => new iam.AccountPrincipal(agentAccount)),
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: {
        'ForAllValues:StringEquals': { 'events:detail-type': ACTION_REQUESTED },
        'ForAllValues:StringLike': { 'events:source': 'agent.*' },
        Null: { 'events:source': 'false', 'events:detail-type': 'false' },
      },
    });
  }
}
