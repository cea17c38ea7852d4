import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DENIED_ERROR, STILL_EXECUTING_ERROR, STORE_UNAVAILABLE_ERROR } from '../lambdas/core/outcome';
import { OUTCOME_SOURCE } from '../lambdas/core/outcome';
import { ROLE_PATH } from './handler-function';
import { physicalName, type NameRule } from './names';
import { acknowledge, wildcardResource } from './nag';

const STATE_MACHINE_NAME: NameRule = { what: 'Step Functions state machine name', maxLength: 80 };
const VENDED_LOGS_PREFIX = '/aws/vendedlogs/states/';
const LOG_GROUP_NAME: NameRule = {
  what: 'CloudWatch Logs log group name',
  maxLength: 512 - VENDED_LOGS_PREFIX.length,
  disallowed: /[^A-Za-z0-9_.#/-]/g,
};

/**
 * The workflow's state names. Tests bind local handlers to them and the docs count transitions
 * through them, so they are part of the construct's contract.
 */
export const STATE = {
  evaluate: 'Evaluate',
  route: 'Route',
  requestApproval: 'RequestApproval',
  expire: 'Expire',
  readDenial: 'ReadDenial',
  execute: 'Execute',
  publish: 'Publish',
  duplicate: 'Duplicate',
  recordFailure: 'RecordFailure',
  tellAgent: 'TellAgent',
  publishFailure: 'PublishFailure',
  failed: 'Failed',
} as const;

/** The error the workflow ends with when a request could not be carried to its end. */
export const WORKFLOW_FAILED_ERROR = 'ActionApprovals.Failed';

/** The functions the workflow's Task states invoke. */
export interface WorkflowFunctions {
  /** Parses, claims and evaluates a request (`lambdas/handlers/evaluate.ts`). */
  readonly evaluate: lambda.IFunction;
  /** Stores the task token and posts the approval cards (`lambdas/handlers/request-approval.ts`). */
  readonly requestApproval: lambda.IFunction;
  /** Ends a request nobody decided in time (`lambdas/handlers/expire.ts`). */
  readonly expire: lambda.IFunction;
  /** Mints the session and runs the approved action (`lambdas/handlers/execute.ts`). */
  readonly execute: lambda.IFunction;
  /** Ends a request whose workflow broke as failed (`lambdas/handlers/fail.ts`). */
  readonly fail: lambda.IFunction;
}

/** Settings of the approval workflow. */
export interface ApprovalWorkflowProps {
  /** The Lambda handlers bound to the Task states. */
  readonly functions: WorkflowFunctions;
  /** Where outcome events are published. */
  readonly eventBus: events.IEventBus;
  /**
   * The longest an execution may run: the longest approval wait plus time to execute and publish.
   * A safety net only; each request's own wait is its TTL.
   */
  readonly timeout: Duration;
  /**
   * How long after the execute function claims a request it has certainly left `executing`
   * (ended by that invocation, or by the stuck-execution sweep): the failure path waits this long
   * for a request it finds executing, to tell its agent how it ended.
   */
  readonly executionsEndWithin: Duration;
  /** How long the execution log is kept. */
  readonly logRetention: logs.RetentionDays;
  /** Applies to the execution log group. */
  readonly removalPolicy: RemovalPolicy;
}

// The retry every Lambda task gets: the errors where Lambda, not the handler, failed (throttling
// included, which CDK's default retry leaves out), and the handler's own report that the store did
// not answer or throttled it; with jitter so retries of many executions spread.
const PASSING_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  STORE_UNAVAILABLE_ERROR,
];

/**
 * The request's life as a Step Functions STANDARD state machine:
 *
 * ```
 * Evaluate ─▶ Route ─rejected/denied────────────────────────────────▶ Publish
 *               ├─duplicate ─▶ Duplicate (nothing to do)
 *               ├─auto-approved ───────────────▶ Execute ─▶ Publish
 *               └─needs-approval ─▶ RequestApproval ─┘
 *                   ├─States.Timeout ─▶ Expire ─▶ Publish
 *                   └─ActionApprovals.Denied ─▶ ReadDenial ─▶ Publish
 * any task's other error ─▶ RecordFailure ─▶ TellAgent ─untold─▶ PublishFailure ─▶ Failed
 *                                                └─told by the sweep ─────────────▶ Failed
 * ```
 */
export class ApprovalWorkflow extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /**
   * The state machine's name, derived from the stack and known at synth, so that policies can
   * name it (and its executions) without referring to the resource.
   */
  public readonly stateMachineName: string;
  /** Its execution log: every event, without inputs and outputs. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApprovalWorkflowProps) {
    super(scope, id);
    const { functions, eventBus } = props;

    const failed = new sfn.Fail(this, STATE.failed, {
      error: WORKFLOW_FAILED_ERROR,
      cause:
        'The request could not be carried to its end; the failed state and its error are in the execution history.',
    });
    const failurePath = this.failurePath(functions.fail, eventBus, failed, props.executionsEndWithin);
    const catchAll = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

    const publish = this.publishStep(STATE.publish, eventBus);
    // The request already has its terminal audit record; only the agent's notice is lost, so the
    // execution fails and the failed-executions alarm tells an operator.
    publish.addCatch(failed, catchAll);

    const evaluate = this.invoke(STATE.evaluate, functions.evaluate, {
      // The execution's id names its claim on the request: a retry of this task carries on from
      // the claim, where another execution of the same event is a duplicate.
      payload: sfn.TaskInput.fromObject({
        event: sfn.JsonPath.objectAt('$'),
        executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
      }),
      outputPath: '$.Payload',
    });
    evaluate.addCatch(failurePath, catchAll);

    const execute = this.invoke(STATE.execute, functions.execute, {
      // The parameters come from the event as the agent sent it; execute re-hashes them against
      // the approved parametersHash, so nothing on the way can swap them.
      payload: sfn.TaskInput.fromObject({
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        parameters: sfn.JsonPath.objectAt('$$.Execution.Input.detail.action.parameters'),
      }),
      outputPath: '$.Payload',
    });
    execute.addCatch(failurePath, catchAll);
    execute.next(publish);

    const expire = this.invoke(STATE.expire, functions.expire, {
      payload: sfn.TaskInput.fromObject({ requestId: sfn.JsonPath.stringAt('$.requestId') }),
      outputPath: '$.Payload',
    });
    expire.addCatch(failurePath, catchAll);
    expire.next(publish);

    // The decision path fails the task with the outcome event to publish as the cause.
    const readDenial = new sfn.Pass(this, STATE.readDenial, {
      parameters: {
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        outcome: 'denied',
        publish: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.error.Cause')),
      },
    });
    readDenial.next(publish);

    const requestApproval = this.invoke(STATE.requestApproval, functions.requestApproval, {
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      // Only the request id and the token: the token is stored server-side by the handler.
      payload: sfn.TaskInput.fromObject({
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        taskToken: sfn.JsonPath.taskToken,
      }),
      // Without a timeout a callback task can wait for a year; the request's TTL bounds it.
      taskTimeout: sfn.Timeout.at('$.ttlSeconds'),
      resultPath: '$.approval',
    });
    requestApproval.addCatch(expire, { errors: [sfn.Errors.TIMEOUT], resultPath: '$.error' });
    requestApproval.addCatch(readDenial, { errors: [DENIED_ERROR], resultPath: '$.error' });
    requestApproval.addCatch(failurePath, catchAll);
    requestApproval.next(execute);

    const outcome = '$.outcome';
    const route = new sfn.Choice(this, STATE.route)
      .when(
        sfn.Condition.or(
          sfn.Condition.stringEquals(outcome, 'rejected'),
          sfn.Condition.stringEquals(outcome, 'denied'),
        ),
        publish,
      )
      .when(
        sfn.Condition.stringEquals(outcome, 'duplicate'),
        new sfn.Succeed(this, STATE.duplicate, {
          comment: 'A redelivered event: the first execution owns the request.',
        }),
      )
      .when(sfn.Condition.stringEquals(outcome, 'auto-approved'), execute)
      .when(sfn.Condition.stringEquals(outcome, 'needs-approval'), requestApproval)
      .otherwise(failed);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The vended-logs prefix keeps Step Functions' log delivery from growing the account's
      // CloudWatch Logs resource policy with one entry per state machine.
      // Derived from the stack and new with each creation of it: the group is retained by default.
      logGroupName: `${VENDED_LOGS_PREFIX}${physicalName(this, LOG_GROUP_NAME, { perStackInstance: true })}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Runs the action-approvals workflow',
      path: ROLE_PATH,
    });
    this.stateMachineName = physicalName(this, STATE_MACHINE_NAME);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(evaluate.next(route)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout,
      role,
      tracingEnabled: true,
      // Every event, but no inputs or outputs: they carry the agents' parameters and justifications.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'action-approvals: evaluate, ask reviewers, execute, publish the outcome',
    });

    acknowledge(role, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray (xray:PutTraceSegments and related) support no resource-level permissions.',
      },
      ...Object.values(functions).map((fn: lambda.IFunction) => ({
        id: wildcardResource(this, `${fn.functionArn}:*`),
        reason:
          'LambdaInvoke grants the function’s versions and aliases (<arn>:*) besides the function; it is this one function and no other.',
      })),
    ]);
  }

  private invoke(
    id: string,
    fn: lambda.IFunction,
    props: Omit<tasks.LambdaInvokeProps, 'lambdaFunction'>,
  ): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: fn,
      retryOnServiceExceptions: false,
      ...props,
    });
    task.addRetry({
      errors: PASSING_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  }

  /**
   * Where any task's unexpected error leads: when the request id is known, the agent is told
   * `Action Failed`; then the execution fails, so the failed-executions alarm fires.
   */
  private failurePath(
    fail: lambda.IFunction,
    eventBus: events.IEventBus,
    failed: sfn.Fail,
    executionsEndWithin: Duration,
  ): sfn.IChainable {
    // The request gets its terminal `failed` record (or keeps the end it already had) and the
    // agent its outcome; the execution still fails, so the failed-executions alarm fires.
    const record = this.invoke(STATE.recordFailure, fail, {
      payload: sfn.TaskInput.fromObject({
        state: sfn.JsonPath.objectAt('$'),
        event: sfn.JsonPath.objectAt('$$.Execution.Input'),
      }),
      outputPath: '$.Payload',
    });
    // A request still executing is ended in time by the invocation that claimed it or by the
    // sweep; the agent is told how it ended once it has.
    record.addRetry({ errors: [STILL_EXECUTING_ERROR], ...retriesLasting(executionsEndWithin) });
    record.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    const publishFailure = this.publishStep(STATE.publishFailure, eventBus);
    publishFailure.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    publishFailure.next(failed);
    // The sweep tells the agent of the requests it ends itself: no second outcome then.
    const tellAgent = new sfn.Choice(this, STATE.tellAgent)
      .when(sfn.Condition.isPresent('$.publish'), publishFailure)
      .otherwise(failed);
    return record.next(tellAgent);
  }

  /**
   * Puts the task's `publish` entry on the bus through the service integration: no function to
   * run, pay for, or grant; the source is fixed here, so nothing a task returns can publish as
   * another source.
   */
  private publishStep(id: string, eventBus: events.IEventBus): tasks.EventBridgePutEvents {
    const step = new tasks.EventBridgePutEvents(this, id, {
      entries: [
        {
          eventBus,
          source: OUTCOME_SOURCE,
          detailType: sfn.JsonPath.stringAt('$.publish.DetailType'),
          detail: sfn.TaskInput.fromText(
            sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.publish.Detail')).toString(),
          ),
        },
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });
    step.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(1),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return step;
  }
}

const FIRST_WAIT_SECONDS = 5;
const LONGEST_WAIT_SECONDS = 60;

/**
 * A retry whose waits (5 s, doubling up to a minute, without jitter so that their sum is known)
 * add up to at least `budget`.
 */
function retriesLasting(
  budget: Duration,
): Pick<sfn.RetryProps, 'interval' | 'backoffRate' | 'maxDelay' | 'maxAttempts'> {
  let waited = 0;
  let attempts = 0;
  for (
    let wait = FIRST_WAIT_SECONDS;
    waited < budget.toSeconds();
    wait = Math.min(wait * 2, LONGEST_WAIT_SECONDS)
  ) {
    waited += wait;
    attempts += 1;
  }
  return {
    interval: Duration.seconds(FIRST_WAIT_SECONDS),
    backoffRate: 2,
    maxDelay: Duration.seconds(LONGEST_WAIT_SECONDS),
    maxAttempts: attempts,
  };
}
