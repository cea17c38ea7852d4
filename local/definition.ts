import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApprovalWorkflow } from '../lib/approval-workflow';

export const LOCAL_WORKFLOW_ACCOUNT = '000000000000';
export const LOCAL_WORKFLOW_REGION = 'us-east-1';

type TemplateValue = string | number | boolean | null | TemplateValue[] | { [key: string]: TemplateValue };

/**
 * The state machine definition exactly as the CDK construct synthesizes it, with the functions
 * and bus it references given fixed local ARNs. Only the workflow construct is synthesized, so
 * no asset is bundled and this takes well under a second.
 */
export function synthesizeWorkflowDefinition(busName = 'action-approvals'): Record<string, unknown> {
  const app = new App();
  const stack = new Stack(app, 'LocalWorkflow', {
    env: { account: LOCAL_WORKFLOW_ACCOUNT, region: LOCAL_WORKFLOW_REGION },
  });
  const fn = (name: string) =>
    lambda.Function.fromFunctionArn(
      stack,
      name,
      `arn:aws:lambda:${LOCAL_WORKFLOW_REGION}:${LOCAL_WORKFLOW_ACCOUNT}:function:${name}`,
    );
  new ApprovalWorkflow(stack, 'Workflow', {
    functions: {
      evaluate: fn('evaluate'),
      requestApproval: fn('request-approval'),
      expire: fn('expire'),
      execute: fn('execute'),
      fail: fn('fail'),
    },
    eventBus: events.EventBus.fromEventBusName(stack, 'Bus', busName),
    timeout: Duration.hours(2),
    // Local execute invocations run in-process and always end, well within this.
    executionsEndWithin: Duration.minutes(2),
    logRetention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, TemplateValue> }>;
  };
  const machine = Object.values(template.Resources).find(
    (resource) => resource.Type === 'AWS::StepFunctions::StateMachine',
  );
  if (!machine) throw new Error('the workflow construct synthesized no state machine');
  return JSON.parse(resolve(machine.Properties.DefinitionString)) as Record<string, unknown>;
}

/** Resolves the intrinsics a definition string holds once every ARN in it is concrete. */
function resolve(value: TemplateValue): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, TemplateValue[]];
      return parts.map(resolve).join(separator);
    }
    if ('Ref' in value) {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': LOCAL_WORKFLOW_REGION,
        'AWS::AccountId': LOCAL_WORKFLOW_ACCOUNT,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      const name = String(value.Ref);
      if (pseudo[name]) return pseudo[name];
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the state machine definition`);
}
