import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { deployActionApprovals, logicalIdOf, testStack } from './deploy';

function evaluateEnvironment(maxApprovalTtl?: Duration): Record<string, unknown> {
  const stack = testStack();
  const approvals = deployActionApprovals(stack, maxApprovalTtl ? { maxApprovalTtl } : {});
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const evaluate = functions[logicalIdOf(stack, approvals.handlers.evaluate.function)];
  return (evaluate.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment
    .Variables;
}

describe('Construct: ActionApprovals › maxApprovalTtl reaches Evaluate', () => {
  test('the evaluate function is told maxApprovalTtl in seconds', () => {
    expect(evaluateEnvironment(Duration.hours(2)).MAX_APPROVAL_TTL_SECONDS).toBe('7200');
  });

  test('the default bound is twelve hours', () => {
    expect(evaluateEnvironment().MAX_APPROVAL_TTL_SECONDS).toBe('43200');
  });
});
