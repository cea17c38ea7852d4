import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { deployActionApprovals, SLACK, stableTemplate, TEAMS, testStack } from './deploy';

test('snapshot test: defaults (API decisions only)', () => {
  const stack = testStack();
  deployActionApprovals(stack);
  expect(stableTemplate(stack)).toMatchSnapshot();
});

test('snapshot test: Slack, Teams, narrowed execution roles, short retention, removable', () => {
  const stack = testStack();
  deployActionApprovals(stack, {
    slack: SLACK,
    teams: TEAMS,
    agentAccounts: ['444455556666'],
    executionRoles: {
      'iam-admin': { enabled: false },
      'data-read': { resources: ['arn:aws:s3:::reports/*'] },
    },
    archiveRetention: Duration.days(30),
    exportRetention: Duration.days(7),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  expect(stableTemplate(stack)).toMatchSnapshot();
});
