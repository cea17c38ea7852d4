import fc from 'fast-check';
import { loadPolicySources } from '../../lambdas/adapters/policy-files';
import {
  PolicyEngine,
  PolicyLoadError,
  type PolicyDecision,
  type PolicyEngineConfig,
  type PolicyInput,
} from '../../lambdas/core/policy';

const shipped = loadPolicySources();

function engineFor(config: Partial<PolicyEngineConfig> = {}): PolicyEngine {
  const loaded = PolicyEngine.load({ ...shipped, ...config });
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

function loadProblems(config: Partial<PolicyEngineConfig>): readonly string[] {
  const loaded = PolicyEngine.load({ ...shipped, ...config });
  if (loaded.ok) throw new Error('expected the policy set to be refused');
  expect(loaded.error).toBeInstanceOf(PolicyLoadError);
  return loaded.error.problems;
}

function request(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    agentId: 'reporting-agent',
    operation: 'ec2:StopInstances',
    accessLevels: ['Write'],
    resource: 'arn:aws:ec2:eu-west-1:111111111111:instance/i-0123456789abcdef0',
    environment: 'production',
    ...overrides,
  };
}

const operatorReview: PolicyDecision = {
  outcome: 'require-approval',
  reason: "privileged operation needs an operator's approval",
  policyIds: ['operator-review'],
  approverGroups: ['operators'],
  quorum: 1,
  ttlSeconds: 900,
};

describe('Class: PolicyEngine', () => {
  describe('Method: evaluate, with the shipped default policies', () => {
    const engine = engineFor();

    it.each([
      ['Read', 'staging', 's3:GetObject', ['Read']],
      ['List', 'development', 's3:ListBucket', ['List']],
      ['Read and List', 'development', 'dynamodb:Scan', ['Read', 'List']],
    ])('auto-approves a %s operation in %s for 300 s', (_levels, environment, operation, accessLevels) => {
      // Act
      const decision = engine.evaluate(request({ operation, accessLevels, environment }));

      // Assess
      expect(decision).toEqual({
        outcome: 'auto-approve',
        reason: 'read-only operation outside production',
        policyIds: ['read-only-non-production'],
        ttlSeconds: 300,
      });
    });

    it.each([
      [
        'a read in production',
        { operation: 's3:GetObject', accessLevels: ['Read'], environment: 'production' },
      ],
      [
        'a write in staging',
        { operation: 'ec2:StopInstances', accessLevels: ['Write'], environment: 'staging' },
      ],
      [
        'a read in an environment the caller could not place',
        { accessLevels: ['Read'], environment: 'unknown' },
      ],
      ['an operation that reads and tags', { accessLevels: ['Read', 'Tagging'], environment: 'development' }],
      ['an operation without known access levels', { accessLevels: [], environment: 'development' }],
    ])('requires one operator for %s', (_case, overrides) => {
      // Act
      const decision = engine.evaluate(request(overrides));

      // Assess
      expect(decision).toEqual(operatorReview);
    });

    it.each([
      ['iam:AttachRolePolicy', ['Permissions management'], 'production'],
      ['iam:GetAccountAuthorizationDetails', ['Read'], 'staging'],
      ['kms:Decrypt', ['Write'], 'development'],
      ['organizations:LeaveOrganization', ['Write'], 'production'],
    ])(
      'requires two security reviewers, and only them, for %s (%s) in %s',
      (operation, accessLevels, environment) => {
        // Act
        const decision = engine.evaluate(request({ operation, accessLevels, environment }));

        // Assess
        expect(decision).toEqual({
          outcome: 'require-approval',
          reason: 'identity, key management and organization operations need two security reviewers',
          policyIds: ['security-sensitive-services'],
          approverGroups: ['security'],
          quorum: 2,
          ttlSeconds: 900,
        });
      },
    );

    it.each([
      ['dynamodb:ExportTableToPointInTime', ['Write']],
      ['rds:StartExportTask', ['Write']],
      ['rds:ModifyDBSnapshotAttribute', ['Write']],
      ['rds:ModifyDBClusterSnapshotAttribute', ['Write']],
      ['ec2:ModifySnapshotAttribute', ['Permissions management', 'Write']],
      ['ec2:ModifyImageAttribute', ['Write']],
      ['ec2:CreateInstanceExportTask', ['Write']],
      ['ec2:ExportImage', ['Write']],
      ['logs:CreateExportTask', ['Write']],
      ['secretsmanager:GetSecretValue', ['Read']],
    ])(
      'requires two security reviewers, and only them, for the data export %s even in staging',
      (operation, accessLevels) => {
        // Act
        const decision = engine.evaluate(request({ operation, accessLevels, environment: 'staging' }));

        // Assess
        expect(decision).toEqual({
          outcome: 'require-approval',
          reason: 'operations that export or share data, or reveal secrets, need two security reviewers',
          policyIds: ['security-data-export'],
          approverGroups: ['security'],
          quorum: 2,
          ttlSeconds: 900,
        });
      },
    );

    it.each(['iam:CreateAccessKey', 'iam:CreateLoginProfile', 'iam:UpdateLoginProfile'])(
      'denies %s whoever would approve it',
      (operation) => {
        // Act
        const decision = engine.evaluate(
          request({ operation, resource: 'arn:aws:iam::111111111111:user/ci', environment: 'development' }),
        );

        // Assess
        expect(decision).toEqual({
          outcome: 'deny',
          reason:
            'long-lived IAM credentials (access keys, console passwords) defeat zero standing privilege',
          policyIds: ['deny-long-lived-credentials'],
        });
      },
    );

    it.each([
      ['iam:PassRole', 'arn:aws:iam::111111111111:role/OrgAdmin'],
      ['iam:PassRole', 'arn:aws:iam::111111111111:role/service/ADMINISTRATOR-deploy'],
      ['sts:AssumeRole', 'arn:aws:iam::111111111111:role/break-glass-admin'],
    ])('denies %s on the administrator role %s, whatever its case', (operation, resource) => {
      // Act
      const decision = engine.evaluate(request({ operation, resource }));

      // Assess
      expect(decision).toEqual({
        outcome: 'deny',
        reason: 'passing or assuming an administrator role hands over full control of the account',
        policyIds: ['deny-admin-role-handover'],
      });
    });

    it('sends passing an ordinary role to security review', () => {
      // Act
      const decision = engine.evaluate(
        request({ operation: 'iam:PassRole', resource: 'arn:aws:iam::111111111111:role/lambda-reporting' }),
      );

      // Assess
      expect(decision).toMatchObject({
        outcome: 'require-approval',
        approverGroups: ['security'],
        quorum: 2,
      });
    });
  });

  describe('Method: evaluate, combining policies', () => {
    const anyoneMayRead =
      '@id("reads") @outcome("auto-approve") @ttl("600") permit (principal, action, resource);';

    it('denies when no policy matches', () => {
      // Prepare
      const engine = engineFor({
        policies:
          '@id("dev") @outcome("auto-approve") permit (principal, action, resource) when { context.environment == "development" };',
      });

      // Act
      const decision = engine.evaluate(request({ environment: 'production' }));

      // Assess
      expect(decision).toEqual({ outcome: 'deny', reason: 'no policy permits this action', policyIds: [] });
    });

    it('denies everything when there are no policies', () => {
      // Prepare
      const engine = engineFor({ policies: '' });

      // Act
      const decision = engine.evaluate(request());

      // Assess
      expect(decision).toEqual({ outcome: 'deny', reason: 'no policy permits this action', policyIds: [] });
    });

    it('lets a forbid beat every permit, and names each forbid that matched', () => {
      // Prepare
      const engine = engineFor({
        policies: `${anyoneMayRead}
          @id("no-prod") @reason("production is frozen") forbid (principal, action, resource) when { context.environment == "production" };
          @id("no-ec2") forbid (principal, action, resource) when { context.service == "ec2" };`,
      });

      // Act
      const decision = engine.evaluate(
        request({ environment: 'production', operation: 'ec2:StopInstances' }),
      );

      // Assess
      expect(decision).toEqual({
        outcome: 'deny',
        reason: 'forbidden by policy "no-ec2"; production is frozen',
        policyIds: ['no-ec2', 'no-prod'],
      });
    });

    it('takes the largest quorum, the shortest ttl and every group of the require-approval policies', () => {
      // Prepare
      const engine = engineFor({
        policies: `${anyoneMayRead}
          @id("ops") @outcome("require-approval") @approvers("operators") @quorum("1") @ttl("1800") @reason("ops look")
          permit (principal, action, resource);
          @id("sec") @outcome("require-approval") @approvers("security, audit") @quorum("3") @ttl("1200") @reason("sec looks")
          permit (principal, action, resource);`,
      });

      // Act
      const decision = engine.evaluate(request());

      // Assess
      expect(decision).toEqual({
        outcome: 'require-approval',
        reason: 'ops look; sec looks',
        policyIds: ['ops', 'sec'],
        approverGroups: ['audit', 'operators', 'security'],
        quorum: 3,
        ttlSeconds: 1200,
      });
    });

    it('auto-approves with the shortest ttl when only auto-approve policies match', () => {
      // Prepare
      const engine = engineFor({
        policies: `${anyoneMayRead}
          @id("brief") @outcome("auto-approve") @ttl("120") @reason("brief look") permit (principal, action, resource);`,
      });

      // Act
      const decision = engine.evaluate(request());

      // Assess
      expect(decision).toEqual({
        outcome: 'auto-approve',
        reason: 'brief look; permitted by policy "reads"',
        policyIds: ['brief', 'reads'],
        ttlSeconds: 120,
      });
    });

    it('applies 300 s to auto-approve, 900 s and a quorum of 1 to require-approval when annotations leave them out', () => {
      // Prepare
      const auto = engineFor({
        policies: '@id("a") @outcome("auto-approve") permit (principal, action, resource);',
      });
      const reviewed = engineFor({
        policies:
          '@id("r") @outcome("require-approval") @approvers("operators") permit (principal, action, resource);',
      });

      // Act
      const autoDecision = auto.evaluate(request());
      const reviewedDecision = reviewed.evaluate(request());

      // Assess
      expect(autoDecision).toMatchObject({ outcome: 'auto-approve', ttlSeconds: 300 });
      expect(reviewedDecision).toMatchObject({ outcome: 'require-approval', quorum: 1, ttlSeconds: 900 });
    });

    it('lets policies match on the agent and on the exact resource', () => {
      // Prepare
      const engine = engineFor({
        policies: `@id("reporting-reads-orders") @outcome("auto-approve")
          permit (principal == Agent::"reporting-agent", action, resource == Resource::"arn:aws:dynamodb:eu-west-1:111111111111:table/orders");`,
      });
      const orders = 'arn:aws:dynamodb:eu-west-1:111111111111:table/orders';

      // Act
      const mine = engine.evaluate(request({ resource: orders }));
      const someoneElses = engine.evaluate(request({ resource: orders, agentId: 'other-agent' }));

      // Assess
      expect(mine.outcome).toBe('auto-approve');
      expect(someoneElses.outcome).toBe('deny');
    });

    describe('with a requested ttl', () => {
      const engine = engineFor({ policies: anyoneMayRead });

      it('shortens the policy ttl to the requested one', () => {
        // Act
        const decision = engine.evaluate(request({ requestedTtlSeconds: 60 }));

        // Assess
        expect(decision).toMatchObject({ outcome: 'auto-approve', ttlSeconds: 60 });
      });

      it('never lengthens the policy ttl', () => {
        // Act
        const decision = engine.evaluate(request({ requestedTtlSeconds: 7200 }));

        // Assess
        expect(decision).toMatchObject({ outcome: 'auto-approve', ttlSeconds: 600 });
      });

      it.each([0, -60, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
        'denies a requested ttl of %s',
        (requestedTtlSeconds) => {
          // Act
          const decision = engine.evaluate(request({ requestedTtlSeconds }));

          // Assess
          expect(decision).toEqual({
            outcome: 'deny',
            reason: 'requested ttl must be a positive whole number of seconds',
            policyIds: [],
          });
        },
      );

      it('lets a policy refuse long requests outright', () => {
        // Prepare
        const strict = engineFor({
          policies: `${anyoneMayRead}
            @id("short-only") @reason("ask for an hour at most")
            forbid (principal, action, resource) when { context has requestedTtlSeconds && context.requestedTtlSeconds > 3600 };`,
        });

        // Act
        const decision = strict.evaluate(request({ requestedTtlSeconds: 7200 }));

        // Assess
        expect(decision).toEqual({
          outcome: 'deny',
          reason: 'ask for an hour at most',
          policyIds: ['short-only'],
        });
      });
    });

    it('denies when a policy fails to evaluate, even though another permits', () => {
      // Prepare
      const engine = engineFor({
        policies: `${anyoneMayRead}
          @id("overflowing") @outcome("auto-approve") permit (principal, action, resource)
          when { context has requestedTtlSeconds && context.requestedTtlSeconds * 9223372036854775807 > 0 };`,
      });

      // Act
      const decision = engine.evaluate(request({ requestedTtlSeconds: 2 }));

      // Assess
      expect(decision.outcome).toBe('deny');
      expect(decision.policyIds).toEqual(['overflowing']);
      expect(decision.reason).toMatch(/^policy evaluation failed: policy "overflowing": integer overflow/);
    });

    it('denies, without throwing, an input Cedar cannot carry', () => {
      // Prepare
      const engine = engineFor({ policies: anyoneMayRead });

      // Act
      const decision = engine.evaluate(request({ agentId: 'agent-\uD800' }));

      // Assess
      expect(decision.outcome).toBe('deny');
      expect(decision.reason).toMatch(/^policy evaluation failed: /);
    });

    it('remembers decisions exactly, evicting the least recently used', () => {
      // Prepare
      const policies = `${anyoneMayRead}
        @id("no-prod") forbid (principal, action, resource) when { context.environment == "production" };`;
      const remembering = engineFor({ policies, decisionCacheSize: 2 });
      const fresh = engineFor({ policies, decisionCacheSize: 0 });
      const questions = ['production', 'staging', 'production', 'development', 'staging', 'production'].map(
        (environment, i) => request({ environment, requestedTtlSeconds: i % 2 === 0 ? 60 : undefined }),
      );

      // Act
      const answers = questions.map((question) => remembering.evaluate(question));

      // Assess
      expect(answers).toEqual(questions.map((question) => fresh.evaluate(question)));
      expect(Object.isFrozen(answers[0])).toBe(true);
      expect(Object.isFrozen(answers[0]?.policyIds)).toBe(true);
    });

    it('never throws and always answers with one of the three outcomes', () => {
      // Prepare
      const engine = engineFor({ decisionCacheSize: 0 });
      const knownOperations = fc.constantFrom(
        's3:GetObject',
        'iam:CreateAccessKey',
        'iam:PassRole',
        'sts:AssumeRole',
        'kms:Decrypt',
        'dynamodb:ExportTableToPointInTime',
        'secretsmanager:GetSecretValue',
        'ec2:StopInstances',
      );
      const input = fc.record(
        {
          agentId: fc.string({ unit: 'binary', maxLength: 24 }),
          operation: fc.oneof(knownOperations, fc.string({ unit: 'binary', maxLength: 40 })),
          accessLevels: fc.array(
            fc.oneof(
              fc.constantFrom('Read', 'List', 'Write', 'Tagging', 'Permissions management'),
              fc.string(),
            ),
            { maxLength: 3 },
          ),
          resource: fc.oneof(
            fc.constantFrom('arn:aws:iam::111111111111:role/OrgAdmin', 'arn:aws:s3:::reports/2024.csv'),
            fc.string({ unit: 'binary', maxLength: 80 }),
          ),
          environment: fc.oneof(fc.constantFrom('production', 'staging', 'development'), fc.string()),
          requestedTtlSeconds: fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.integer(), fc.double()),
        },
        { requiredKeys: ['agentId', 'operation', 'accessLevels', 'resource', 'environment'] },
      );

      fc.assert(
        fc.property(input, (question) => {
          // Act
          const decision = engine.evaluate(question);

          // Assess
          expect(['deny', 'auto-approve', 'require-approval']).toContain(decision.outcome);
          expect(decision.reason.length).toBeGreaterThan(0);
          if (decision.outcome === 'deny') return;
          expect(Number.isSafeInteger(decision.ttlSeconds) && decision.ttlSeconds >= 1).toBe(true);
          expect(decision.ttlSeconds).toBeLessThanOrEqual(question.requestedTtlSeconds ?? 900);
          if (decision.outcome === 'require-approval') {
            expect(Number.isSafeInteger(decision.quorum) && decision.quorum >= 1).toBe(true);
            expect(decision.approverGroups.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('Method: load', () => {
    it('loads the shipped default policies', () => {
      // Act
      const loaded = PolicyEngine.load(shipped);

      // Assess
      expect(loaded.ok).toBe(true);
    });

    it('refuses broken policy text, saying where', () => {
      // Act
      const problems = loadProblems({
        policies:
          '@id("reads") @outcome("auto-approve")\npermit (principal, action, resource)\nwhen { context.environment == "staging" ',
      });

      // Assess
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^policies: line 3, column 40: unexpected end of input \(expected .*`}`/);
    });

    it('refuses broken schema text, saying where', () => {
      // Act
      const problems = loadProblems({ schema: 'entity Agent;\nentity Resource\naction RequestAction;' });

      // Assess
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^schema: line 3, column 1: .*unexpected token `action`/);
    });

    it('refuses a policy that violates the schema, naming the policy and the offending text', () => {
      // Act
      const problems = loadProblems({
        policies:
          '@id("typo") @outcome("auto-approve")\npermit (principal, action, resource)\nwhen { context.enviroment == "staging" };',
      });

      // Assess
      expect(problems).toEqual([
        'policy "typo": attribute `enviroment` in context for Action::"RequestAction" not found; ' +
          'did you mean `environment`? at "context.enviroment"',
      ]);
    });

    it('refuses a policy that can never apply, which is usually a silently broken forbid', () => {
      // Act
      const problems = loadProblems({
        policies: '@id("never") forbid (principal, action, resource) when { principal == Resource::"x" };',
      });

      // Assess
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^policy "never": policy is impossible/);
    });

    it('refuses a schema that does not describe the request the engine sends', () => {
      // Act
      const problems = loadProblems({
        policies: '',
        schema:
          'entity Agent;\nentity Resource;\naction RequestAction appliesTo { principal: Agent, resource: Resource, context: { operation: String } };',
      });

      // Assess
      expect(problems.length).toBeGreaterThan(0);
      expect(problems[0]).toMatch(
        /^schema: does not describe the request the engine sends \(principal Agent, action Action::"RequestAction", resource Resource, context as in docs\/POLICY.md\): .*should not exist/,
      );
    });

    it('refuses text Cedar cannot carry instead of throwing', () => {
      // Act
      const problems = loadProblems({ schema: 'entity Agent\uD800;' });

      // Assess
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^Cedar rejected the input: /);
    });

    it.each([
      [
        'has no @outcome',
        '@id("p") permit (principal, action, resource);',
        'a permit needs @outcome("auto-approve") or @outcome("require-approval")',
      ],
      [
        'has an unknown @outcome',
        '@id("p") @outcome("approve") permit (principal, action, resource);',
        '@outcome("approve") is not "auto-approve" or "require-approval"',
      ],
      [
        'has a zero @quorum',
        '@id("p") @outcome("require-approval") @approvers("ops") @quorum("0") permit (principal, action, resource);',
        '@quorum("0") is not a whole number of approvers from 1 up',
      ],
      [
        'has a worded @quorum',
        '@id("p") @outcome("require-approval") @approvers("ops") @quorum("two") permit (principal, action, resource);',
        '@quorum("two") is not a whole number of approvers from 1 up',
      ],
      [
        'has an exponent @ttl',
        '@id("p") @outcome("auto-approve") @ttl("1e3") permit (principal, action, resource);',
        '@ttl("1e3") is not a whole number of seconds from 1 to 43200',
      ],
      [
        'has a @ttl over 12 hours',
        '@id("p") @outcome("auto-approve") @ttl("43201") permit (principal, action, resource);',
        '@ttl("43201") is not a whole number of seconds from 1 to 43200',
      ],
      [
        'needs review but names no @approvers',
        '@id("p") @outcome("require-approval") permit (principal, action, resource);',
        '@outcome("require-approval") needs @approvers("group[,group…]")',
      ],
      [
        'has an empty approver group',
        '@id("p") @outcome("require-approval") @approvers("ops,") permit (principal, action, resource);',
        '@approvers("ops,") has an empty group name',
      ],
      [
        'auto-approves yet names approvers',
        '@id("p") @outcome("auto-approve") @approvers("ops") @quorum("2") permit (principal, action, resource);',
        '@approvers, @quorum only apply to @outcome("require-approval")',
      ],
    ])('refuses a permit that %s', (_case, policies, problem) => {
      // Act
      const problems = loadProblems({ policies });

      // Assess
      expect(problems).toEqual([`policy "p": ${problem}`]);
    });

    it('refuses a forbid carrying permit annotations', () => {
      // Act
      const problems = loadProblems({
        policies: '@id("f") @outcome("auto-approve") @ttl("5") forbid (principal, action, resource);',
      });

      // Assess
      expect(problems).toEqual([
        'policy "f": a forbid always denies; @outcome, @ttl only apply to permit policies',
      ]);
    });

    it('refuses policies without an @id or sharing one', () => {
      // Act
      const problems = loadProblems({
        policies: `@outcome("auto-approve") permit (principal, action, resource);
          @id("p") @outcome("auto-approve") permit (principal, action, resource);
          @id("p") forbid (principal, action, resource);`,
      });

      // Assess
      expect(problems).toEqual([
        'policies: every policy needs a non-empty @id("…"), this one has none: "@outcome("auto-approve") permit (principal, action, resou..."',
        'policy "p": @id("p") is used by more than one policy',
      ]);
    });

    it('refuses templates', () => {
      // Act
      const problems = loadProblems({
        policies: '@id("t") @outcome("auto-approve") permit (principal == ?principal, action, resource);',
      });

      // Assess
      expect(problems).toEqual([
        'policies: templates (policies with ?principal or ?resource slots) are not supported: ' +
          '"@id("t") @outcome("auto-approve") permit (principal == ?p..."',
      ]);
    });

    it('lists every problem at once, in one readable error', () => {
      // Act
      const loaded = PolicyEngine.load({
        ...shipped,
        policies: `@id("a") permit (principal, action, resource);
          @id("b") @outcome("require-approval") @approvers("ops") @quorum("-1") @ttl("0") permit (principal, action, resource);`,
      });

      // Assess
      expect(loaded.ok).toBe(false);
      expect(!loaded.ok && loaded.error.message).toBe(
        'the policy set cannot be loaded:\n' +
          '- policy "a": a permit needs @outcome("auto-approve") or @outcome("require-approval")\n' +
          '- policy "b": @ttl("0") is not a whole number of seconds from 1 to 43200\n' +
          '- policy "b": @quorum("-1") is not a whole number of approvers from 1 up',
      );
    });

    it.each([-1, 1.5])('refuses a decision cache size of %s', (decisionCacheSize) => {
      // Act
      const problems = loadProblems({ decisionCacheSize });

      // Assess
      expect(problems).toEqual([`decisionCacheSize ${decisionCacheSize} is not a whole number from 0 up`]);
    });
  });

  describe('Method: longestTtl', () => {
    it('names the first permit policy with the longest @ttl among the shipped ones', () => {
      expect(engineFor().longestTtl()).toEqual({ policyId: 'security-sensitive-services', ttlSeconds: 900 });
    });

    it('counts the default ttl of a permit policy that sets none, and ignores forbid policies', () => {
      const engine = engineFor({
        policies: [
          '@id("reads") @outcome("auto-approve")\npermit (principal, action, resource);',
          '@id("never") forbid (principal, action, resource) when { context.environment == "x" };',
        ].join('\n'),
      });

      expect(engine.longestTtl()).toEqual({ policyId: 'reads', ttlSeconds: 300 });
    });
  });
});

describe('Attack class 3: environments come from authority', () => {
  const read = { operation: 's3:GetObject', accessLevels: ['Read'], resource: 'arn:aws:s3:::unmapped/key' };

  it('never auto-approves with the shipped policies when the environment is unknown', () => {
    expect(engineFor().evaluate(request({ ...read, environment: 'unknown' })).outcome).not.toBe(
      'auto-approve',
    );
  });

  it('refuses to auto-approve an unknown environment even when a policy permits "anything but production"', () => {
    const engine = engineFor({
      policies: `@id("reads-outside-production")
@outcome("auto-approve")
@reason("read-only outside production")
permit (principal, action, resource)
when { context.environment != "production" && ["Read", "List"].containsAll(context.accessLevels) };`,
    });

    const decision = engine.evaluate(request({ ...read, environment: 'unknown' }));

    expect(decision).toMatchObject({
      outcome: 'deny',
      reason: expect.stringContaining('environment is unknown'),
    });
  });

  it('still auto-approves that policy in a named environment', () => {
    const engine = engineFor({
      policies: `@id("reads-outside-production")
@outcome("auto-approve")
@reason("read-only outside production")
permit (principal, action, resource)
when { context.environment != "production" && ["Read", "List"].containsAll(context.accessLevels) };`,
    });

    expect(engine.evaluate(request({ ...read, environment: 'staging' })).outcome).toBe('auto-approve');
  });
});

describe('Annotation: @allowUnscopedResource', () => {
  const describeAnyInstance =
    '@id("describe-anywhere") @outcome("auto-approve") @allowUnscopedResource("true") permit (principal, action, resource) when { context.operation == "ec2:DescribeInstances" };';
  const reviewEverything =
    '@id("review") @outcome("require-approval") @approvers("operators") permit (principal, action, resource);';

  it('lets an action IAM cannot scope through when the deciding policy says so', () => {
    // Prepare
    const engine = engineFor({ policies: describeAnyInstance });

    // Act
    const decision = engine.evaluate(request({ operation: 'ec2:DescribeInstances', accessLevels: ['List'] }));

    // Assess
    expect(decision).toEqual({
      outcome: 'auto-approve',
      reason: 'permitted by policy "describe-anywhere"',
      policyIds: ['describe-anywhere'],
      ttlSeconds: 300,
      allowUnscopedResource: true,
    });
  });

  it('leaves the decision without the leave when the deciding policies do not say so', () => {
    // Prepare
    const engine = engineFor({ policies: `${describeAnyInstance}\n${reviewEverything}` });

    // Act
    const decision = engine.evaluate(request({ operation: 'ec2:DescribeInstances', accessLevels: ['List'] }));

    // Assess
    expect(decision).not.toHaveProperty('allowUnscopedResource');
  });

  it('refuses a value other than "true"', () => {
    expect(
      loadProblems({
        policies:
          '@id("p") @outcome("auto-approve") @allowUnscopedResource("yes") permit (principal, action, resource);',
      }),
    ).toEqual([
      'policy "p": @allowUnscopedResource("yes") must be "true"; leave it out to keep actions IAM cannot scope refused',
    ]);
  });

  it('refuses it on a forbid, which always denies', () => {
    expect(
      loadProblems({
        policies: '@id("f") @allowUnscopedResource("true") forbid (principal, action, resource);',
      }),
    ).toEqual(['policy "f": a forbid always denies; @allowUnscopedResource only apply to permit policies']);
  });
});
