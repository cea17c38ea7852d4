import { Validations, type Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { deployActionApprovals, SLACK, TEAMS, testStack } from './deploy';

interface Finding {
  readonly rule: string;
  readonly path: string;
}

/** AwsSolutions findings; with `counting: 'all'`, acknowledged ones too. */
function findings(scope: IConstruct, counting: 'unacknowledged' | 'all'): Finding[] {
  const pack = new AwsSolutionsChecks(scope);
  // The pack asks this private method whether a finding was acknowledged; answering "no" lists them all.
  if (counting === 'all') Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return pack.validateScope(scope).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      path: resource.constructPath ?? '',
    })),
  );
}

interface RecordedAcknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(stack: Stack): RecordedAcknowledgement[] {
  return stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([key, reason]) => ({
          path: construct.node.path,
          // Recorded with the kind of rule in front ("Annotation::AwsSolutions-IAM5[…]").
          id: key.replace(/^[A-Za-z]+::/, ''),
          reason,
        })),
      ),
  );
}

const configurations = {
  defaults: () => {
    const stack = testStack();
    deployActionApprovals(stack);
    return stack;
  },
  'Slack, Teams and agent accounts': () => {
    const stack = testStack();
    deployActionApprovals(stack, { slack: SLACK, teams: TEAMS, agentAccounts: ['444455556666'] });
    return stack;
  },
  'environment-agnostic (as cdk synth builds it offline)': () => {
    const stack = testStack({ env: false });
    deployActionApprovals(stack, { slack: SLACK, teams: TEAMS });
    return stack;
  },
};

describe('Checks: cdk-nag AwsSolutions', () => {
  describe.each(Object.entries(configurations))('%s', (_name, build) => {
    const stack = build();

    test('reports zero findings that are not acknowledged', () => {
      expect(findings(stack, 'unacknowledged')).toEqual([]);
    });

    test('every acknowledgement names a finding that occurs on its construct, with a specific reason', () => {
      const all = findings(stack, 'all');
      const recorded = acknowledgements(stack);
      expect(recorded.length).toBeGreaterThan(0);
      for (const acknowledgement of recorded) {
        const matched = all.filter(
          (finding) =>
            finding.rule === acknowledgement.id &&
            (finding.path === acknowledgement.path || finding.path.startsWith(`${acknowledgement.path}/`)),
        );
        expect({ ...acknowledgement, matched: matched.length > 0 }).toEqual({
          ...acknowledgement,
          matched: true,
        });
        // Scoped to a part of the system, never the stack or the construct as a whole.
        expect(acknowledgement.path.split('/').length).toBeGreaterThan(2);
        expect(acknowledgement.reason.length).toBeGreaterThan(60);
      }
    });
  });
});
