import fc from 'fast-check';
import {
  approvers,
  castVote,
  initialApprovalState,
  type ApprovalRule,
  type ApprovalState,
  type Vote,
} from '../../lambdas/core/approval';

const rule: ApprovalRule = {
  quorum: 2,
  approverGroups: ['security'],
  expiresAt: '2026-11-24T11:00:00.000Z',
  requesterId: 'agent:reporting-bot',
  ownerIds: ['owner@example.com'],
};

const vote = (reviewer: string, overrides: Partial<Vote> = {}): Vote => ({
  reviewer,
  groups: ['security'],
  decision: 'approve',
  at: '2026-11-24T10:30:00.000Z',
  channel: 'slack',
  ...overrides,
});

function castAll(votes: readonly Vote[], r: ApprovalRule = rule): ApprovalState {
  return votes.reduce((state, next) => {
    const result = castVote(state, next, r);
    return result.ok ? result.value : state;
  }, initialApprovalState);
}

describe('Function: castVote', () => {
  it('keeps the request pending until the quorum is met', () => {
    const state = castAll([vote('alice@example.com')]);

    expect(state.status).toBe('pending');
  });

  it('approves when distinct reviewers reach the quorum', () => {
    const state = castAll([vote('alice@example.com'), vote('bob@example.com')]);

    expect([state.status, state.decidedAt, approvers(state)]).toEqual([
      'approved',
      '2026-11-24T10:30:00.000Z',
      ['alice@example.com', 'bob@example.com'],
    ]);
  });

  it('denies on a single deny', () => {
    const state = castAll([vote('alice@example.com'), vote('bob@example.com', { decision: 'deny' })]);

    expect(state.status).toBe('denied');
  });

  it('refuses the requester approving its own request', () => {
    const result = castVote(initialApprovalState, vote('agent:reporting-bot'), rule);

    expect(result).toEqual({
      ok: false,
      error: { code: 'self-approval', reason: 'the requester cannot approve its own request' },
    });
  });

  it('refuses the agent’s owner approving, whatever the case of the address', () => {
    const result = castVote(initialApprovalState, vote('Owner@Example.com'), rule);

    expect(!result.ok && result.error.code).toBe('owner-approval');
  });

  it('lets the agent’s owner deny, even outside the approver groups', () => {
    const result = castVote(
      initialApprovalState,
      vote('owner@example.com', { decision: 'deny', groups: [] }),
      rule,
    );

    expect(result.ok && result.value.status).toBe('denied');
  });

  it('refuses a reviewer outside the approver groups', () => {
    const result = castVote(initialApprovalState, vote('eve@example.com', { groups: ['marketing'] }), rule);

    expect(result).toEqual({
      ok: false,
      error: { code: 'not-an-approver', reason: 'eve@example.com is not in security' },
    });
  });

  it('refuses a second vote by the same reviewer', () => {
    const once = castAll([vote('alice@example.com')]);

    const result = castVote(once, vote('ALICE@example.com'), rule);

    expect(!result.ok && result.error.code).toBe('duplicate-vote');
  });

  it('refuses a vote at or after expiry', () => {
    const result = castVote(initialApprovalState, vote('alice@example.com', { at: rule.expiresAt }), rule);

    expect(result).toEqual({
      ok: false,
      error: { code: 'expired', reason: 'the request expired at 2026-11-24T11:00:00.000Z' },
    });
  });

  it('refuses a vote after the decision', () => {
    const decided = castAll([vote('alice@example.com', { decision: 'deny' })]);

    const result = castVote(decided, vote('bob@example.com'), rule);

    expect(result).toEqual({
      ok: false,
      error: { code: 'already-decided', reason: 'the request was already denied' },
    });
  });

  it('never reaches quorum with the requester or an owner among the approvals needed', () => {
    const reviewers = fc.constantFrom('alice@example.com', 'bob@example.com', 'carol@example.com');
    const forbidden = fc.constantFrom(
      'agent:reporting-bot',
      'owner@example.com',
      'OWNER@example.com',
      ' owner@example.com ',
    );
    const aVote = fc.record({
      reviewer: fc.oneof(reviewers, forbidden),
      groups: fc.constantFrom(['security'], ['security', 'operators']),
      decision: fc.constant('approve' as const),
      at: fc.constant('2026-11-24T10:30:00.000Z'),
      channel: fc.constantFrom('slack' as const, 'teams' as const, 'api' as const),
    });

    fc.assert(
      fc.property(fc.array(aVote, { maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (votes, quorum) => {
        const state = castAll(votes, { ...rule, quorum });
        const eligible = new Set(
          votes.map((v) => v.reviewer).filter((r) => !/^agent:|owner@example\.com/i.test(r.trim())),
        );
        if (state.status === 'approved') {
          expect(approvers(state).some((r) => /^agent:|owner@/i.test(r.trim()))).toBe(false);
          expect(new Set(approvers(state)).size).toBeGreaterThanOrEqual(quorum);
        } else {
          expect(eligible.size).toBeLessThan(quorum);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Attack class 5: identities are pinned at every entry', () => {
  const ACCOUNT = '111122223333';
  // Identities of every kind a directory holds, so generated sets overlap often.
  const spelled = fc.constantFrom(
    (name: string) => name,
    (name: string) => name.toUpperCase(),
    (name: string) => ` ${name}`,
  );
  const identity = fc.oneof(
    fc
      .tuple(fc.constantFrom('alice@example.com', 'owner@example.com', 'mallory@example.com'), spelled)
      .map(([email, spell]) => spell(email)),
    fc.constantFrom('UALICE', 'UOWNER', 'aad-owner', 'aad-alice'),
    fc.constantFrom('agent-role', 'ops', 'alice').map((name) => `arn:aws:iam::${ACCOUNT}:role/${name}`),
    fc
      .tuple(fc.constantFrom('agent-role', 'ops', 'alice'), fc.constantFrom('s1', 'alice'))
      .map(([role, session]) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`),
  );
  const identities = fc.array(identity, { minLength: 1, maxLength: 4 });

  /** Whether two identities are one principal, as IAM and the e-mail system would say. */
  function samePrincipal(a: string, b: string): boolean {
    const norm = (value: string) => value.trim().toLowerCase();
    if (norm(a) === norm(b)) return true;
    const role = (value: string) => /:role\/(.+)$/.exec(value)?.[1];
    const sessionRole = (value: string) => /:assumed-role\/([^/]+)\//.exec(value)?.[1];
    return (
      (role(a) !== undefined && role(a) === sessionRole(b)) ||
      (role(b) !== undefined && role(b) === sessionRole(a))
    );
  }

  it('refuses every approval whose resolved identities meet the requester’s or an owner’s', () => {
    fc.assert(
      fc.property(identities, identities, identities, (voter, requester, owners) => {
        const barred = [...requester, ...owners].some((name) =>
          voter.some((mine) => samePrincipal(mine, name)),
        );
        fc.pre(barred);

        const counted = castVote(initialApprovalState, vote('reviewer-under-test'), rule, {
          voter,
          requester,
          owners,
        });

        expect(counted).toMatchObject({
          ok: false,
          error: { code: expect.stringMatching(/^(self|owner)-approval$/) },
        });
      }),
    );
  });

  it('counts an approval whose resolved identities meet neither', () => {
    fc.assert(
      fc.property(identities, identities, identities, (voter, requester, owners) => {
        const barred = [...requester, ...owners, rule.requesterId, ...rule.ownerIds].some((name) =>
          [...voter, 'reviewer-under-test'].some((mine) => samePrincipal(mine, name)),
        );
        fc.pre(!barred);

        expect(
          castVote(initialApprovalState, vote('reviewer-under-test'), rule, { voter, requester, owners }).ok,
        ).toBe(true);
      }),
    );
  });

  it('bars a reviewer whose IAM session is of the agent’s role', () => {
    const counted = castVote(initialApprovalState, vote('mallory@example.com'), rule, {
      voter: ['mallory@example.com', `arn:aws:sts::${ACCOUNT}:assumed-role/reporting-bot/run-42`],
      requester: ['agent:reporting-bot', `arn:aws:iam::${ACCOUNT}:role/agents/reporting-bot`],
      owners: [],
    });

    expect(counted).toMatchObject({ ok: false, error: { code: 'self-approval' } });
  });

  it('does not bar another person signed in through the same Identity Center permission set', () => {
    const counted = castVote(initialApprovalState, vote('alice@example.com'), rule, {
      voter: ['alice@example.com', `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin/alice`],
      requester: ['agent:reporting-bot'],
      owners: ['owner@example.com', `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin/owner`],
    });

    expect(counted.ok).toBe(true);
  });
});
