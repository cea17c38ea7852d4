import { IamDataReference } from '../lambdas/adapters/iam-reference';
import { LocalSigner } from '../lambdas/adapters/local-signer';
import { loadPolicySources } from '../lambdas/adapters/policy-files';
import {
  approvers,
  castVote,
  initialApprovalState,
  type ApprovalRule,
  type ApprovalState,
} from '../lambdas/core/approval';
import { appendRecords, verifyChain, type AuditEvent } from '../lambdas/core/audit';
import { Directory } from '../lambdas/core/directory';
import { PolicyEngine, type PolicyDecision } from '../lambdas/core/policy';
import { signReceipt, verifyReceipt } from '../lambdas/core/receipt';
import { parseActionRequest } from '../lambdas/core/request';
import { buildSessionPolicy } from '../lambdas/core/session-policy';
import type { ActionRequest } from '../lambdas/core/types';
import { sampleDirectory, sampleRequests } from './samples';

/**
 * The decision core on its own, with no AWS and no servers: three sample requests are parsed,
 * decided by the shipped Cedar policies, voted on, scoped to a session policy, signed and
 * recorded in a hash chain that is then verified.
 */
async function main(): Promise<void> {
  const loaded = PolicyEngine.load(loadPolicySources());
  if (!loaded.ok) throw loaded.error;
  const directory = Directory.parse(sampleDirectory);
  if (!directory.ok) throw new Error(directory.error);
  const iam = new IamDataReference();
  const signer = LocalSigner.generate('demo-receipt-key');
  const now = new Date();

  for (const event of sampleRequests(now)) {
    const parsed = await parseActionRequest(event, iam);
    if (!parsed.ok) {
      print('rejected', parsed.error.reasons.join('; '));
      continue;
    }
    const request = parsed.value;
    const decision = loaded.value.evaluate({
      agentId: request.agentId,
      operation: request.action.operation,
      accessLevels: (await iam.describeAction(request.action.operation))?.accessLevels ?? [],
      resource: request.action.resource,
      environment: directory.value.environmentOf(request.action.resource),
    });
    console.log(`\n━━ ${request.requestId}: ${request.action.operation} on ${request.action.resource}`);
    print('decision', `${decision.outcome} — ${decision.reason}`);
    const events = await decide(
      request,
      decision,
      directory.value.ownersOf(request.agentId) ?? [],
      now,
      signer,
    );
    const chain = appendRecords(undefined, events);
    const verified = verifyChain(chain);
    print('audit chain', chain.map((record) => record.type).join(' → '));
    print(
      'chain check',
      verified.ok
        ? `verified, ${verified.records} records, head ${chain.at(-1)?.hash.slice(0, 16)}…`
        : verified.reason,
    );
  }
}

async function decide(
  request: ActionRequest,
  decision: PolicyDecision,
  owners: readonly string[],
  now: Date,
  signer: LocalSigner,
): Promise<AuditEvent[]> {
  const at = now.toISOString();
  const base = { requestId: request.requestId, at, parametersHash: request.parametersHash };
  const events: AuditEvent[] = [
    {
      ...base,
      type: 'requested',
      actor: { kind: 'agent', id: request.agentId },
      details: { operation: request.action.operation },
    },
    {
      ...base,
      type: 'policy-evaluated',
      actor: { kind: 'system', id: 'demo' },
      details: { outcome: decision.outcome },
    },
  ];
  if (decision.outcome === 'deny')
    return [...events, { ...base, type: 'denied', actor: { kind: 'system', id: 'demo' } }];

  const expiresAt = new Date(now.getTime() + decision.ttlSeconds * 1000).toISOString();
  let reviewers = ['policy:auto-approve'];
  if (decision.outcome === 'require-approval') {
    const rule: ApprovalRule = {
      quorum: decision.quorum,
      approverGroups: decision.approverGroups,
      expiresAt,
      requesterId: `agent:${request.agentId}`,
      ownerIds: owners,
    };
    let state: ApprovalState = initialApprovalState;
    for (const reviewer of ['owner@example.com', 'alice@example.com', 'bob@example.com']) {
      const vote = {
        reviewer,
        groups: sampleDirectory.reviewers.find((r) => r.id === reviewer)?.groups ?? [],
        decision: 'approve' as const,
        at,
        channel: 'console' as const,
      };
      const counted = castVote(state, vote, rule);
      print(
        `vote ${reviewer}`,
        counted.ok ? `counted (${counted.value.status})` : `refused: ${counted.error.reason}`,
      );
      events.push({
        ...base,
        type: 'vote',
        actor: { kind: 'reviewer', id: reviewer },
        details: { counted: counted.ok },
      });
      if (counted.ok) state = counted.value;
    }
    reviewers = approvers(state);
  }
  events.push({ ...base, type: 'approved', actor: { kind: 'system', id: 'demo' }, details: { reviewers } });

  const policy = buildSessionPolicy({
    operation: request.action.operation,
    resource: request.action.resource,
    notAfter: expiresAt,
  });
  if (!policy.ok) throw new Error(policy.error.message);
  print('session policy', JSON.stringify(policy.value, null, 2).replace(/\n/g, `\n${' '.repeat(26)}`));
  const receipt = await signReceipt(
    {
      requestId: request.requestId,
      agentId: request.agentId,
      operation: request.action.operation,
      resource: request.action.resource,
      parametersHash: request.parametersHash,
      reviewers,
      decision: 'approved',
      decidedAt: at,
      expiresAt,
    },
    signer,
  );
  const checked = await verifyReceipt(receipt, signer.publicJwk());
  print('receipt', `${receipt.slice(0, 48)}… (${checked.ok ? 'signature verified' : checked.error})`);
  return events;
}

function print(label: string, text: string): void {
  console.log(`  ${label.padEnd(24)}${text}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
