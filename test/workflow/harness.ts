import { randomUUID } from 'node:crypto';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import { forInterpreter } from '../../local/workflow';
import { WorkflowGoneError } from '../../lambdas/app/errors';
import type { AssumeForActionInput } from '../../lambdas/app/ports';
import { logger } from '../../lambdas/adapters/logger';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { DENIED_ERROR } from '../../lambdas/core/outcome';
import { evaluateRequest, parseEvaluateInput } from '../../lambdas/app/evaluate';
import { executeApproved, parseExecuteInput, type ExecuteDeps } from '../../lambdas/app/execute';
import { expireRequest } from '../../lambdas/app/expire';
import { failRequest, type FailureInput } from '../../lambdas/app/fail';
import type { OutcomePublisher, WorkflowCallbacks } from '../../lambdas/app/ports';
import { requestApproval } from '../../lambdas/app/request-approval';
import type { OutcomeEvent } from '../../lambdas/core/outcome';
import { ok } from '../../lambdas/core/result';
import { readExecuteSettings } from '../../lambdas/handlers/execute';
import type { DecideDeps } from '../../lambdas/app/decide';
import type { TestDeps } from '../support/fixtures';
import {
  deployActionApprovals,
  logicalIdOf,
  resolveWithPlaceholders,
  testStack,
  type CfnResource,
} from '../lib/deploy';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type RunResult = ReturnType<StateMachine['run']>;
type EventLog = RunResult['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** The workflow's Lambda-backed tasks, by the handler file they run. */
export type WorkflowHandler = 'evaluate' | 'request-approval' | 'expire' | 'execute' | 'fail';

/** The state machine as synthesized, with every reference replaced by a concrete placeholder. */
export interface SynthesizedWorkflow {
  /** The definition as deployed: parsed from the template's DefinitionString. */
  readonly definition: JsonObject;
  /** The ARN each handler's function has in `definition`. */
  readonly functionArns: Readonly<Record<WorkflowHandler, string>>;
  /** The execute function's environment, as its handler reads it. */
  readonly executeEnvironment: Readonly<Record<string, string>>;
  /** The bus outcome events are put on. */
  readonly eventBusArn: string;
}

/** Synthesizes the default ActionApprovals stack and reads its workflow back out of the template. */
export function synthesizeWorkflow(): SynthesizedWorkflow {
  const stack = testStack();
  const approvals = deployActionApprovals(stack);
  const template = Template.fromStack(stack);
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as CfnResource[];
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const definition = JSON.parse(
    resolveWithPlaceholders(machines[0].Properties?.DefinitionString, template),
  ) as JsonObject;
  const arnOf = (fn: { node: { defaultChild?: unknown } }) =>
    resolveWithPlaceholders({ 'Fn::GetAtt': [logicalIdOf(stack, fn), 'Arn'] }, template);
  const { handlers } = approvals;
  const executeFunction = template.toJSON().Resources[
    logicalIdOf(stack, handlers.execute.function)
  ] as CfnResource;
  const variables = (executeFunction.Properties?.Environment as { Variables: Record<string, unknown> })
    .Variables;
  return {
    definition,
    functionArns: {
      evaluate: arnOf(handlers.evaluate.function),
      'request-approval': arnOf(handlers.requestApproval.function),
      expire: arnOf(handlers.expire.function),
      execute: arnOf(handlers.execute.function),
      fail: arnOf(handlers.fail.function),
    },
    executeEnvironment: Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [name, resolveWithPlaceholders(value, template)]),
    ),
    eventBusArn: resolveWithPlaceholders(stack.resolve(approvals.eventBus.eventBusArn), template),
  };
}

/**
 * The callback side of `.waitForTaskToken`: what SendTaskSuccess / SendTaskFailure do to a paused
 * task, done to the interpreter's pending task. The decision path gets this as its
 * WorkflowCallbacks, so votes resume the workflow exactly as they would in AWS.
 */
export class LocalCallbacks implements WorkflowCallbacks {
  private readonly waiting = new Map<
    string,
    { resolve: (output: Json) => void; reject: (error: Error) => void }
  >();

  /** Pauses until the token is used; the interpreter's task waits on this. */
  waitFor(taskToken: string): Promise<Json> {
    return new Promise<Json>((resolve, reject) => this.waiting.set(taskToken, { resolve, reject }));
  }

  isWaiting(taskToken: string): boolean {
    return this.waiting.has(taskToken);
  }

  async approve(taskToken: string, output: Readonly<Record<string, unknown>>): Promise<void> {
    this.take(taskToken).resolve(toJson(output));
  }

  async deny(taskToken: string, cause: string): Promise<void> {
    // SendTaskFailure(error, cause) reaches a Catch as { Error: error, Cause: cause }.
    const failure = new Error(cause);
    failure.name = DENIED_ERROR;
    this.take(taskToken).reject(failure);
  }

  private take(taskToken: string) {
    const pending = this.waiting.get(taskToken);
    // What StepFunctionsCallbacks turns TaskDoesNotExist / TaskTimedOut into.
    if (!pending) throw new WorkflowGoneError('the workflow no longer waits for this task: TaskDoesNotExist');
    this.waiting.delete(taskToken);
    return pending;
  }
}

/** One PutEvents entry as the workflow sent it (Detail already parsed by States.StringToJson). */
export interface PublishedEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: JsonObject;
  readonly EventBusName: string;
}

/** A run of the workflow and what it did. */
export interface WorkflowRun {
  /** The execution's output; rejects with the interpreter's ExecutionError when it fails. */
  readonly result: Promise<Json>;
  /** The execution's history so far. */
  readonly events: EventLog[];
  /** Names of the states entered, in order: one Step Functions state transition each. */
  statesEntered(): string[];
  /** Resolves once the history has ended (succeeded, failed, timed out, aborted). */
  finished(): Promise<void>;
}

/**
 * Runs the synthesized workflow in aws-local-stepfunctions with the real use cases bound to its
 * Task states by function ARN, over the DynamoDB Local tables behind `deps`.
 */
export class WorkflowHarness {
  /** Outcome events the workflow's PutEvents tasks sent. */
  readonly published: PublishedEntry[] = [];
  /** Events the decision path published itself (`Action Approved`). */
  readonly decisionEvents: OutcomeEvent[] = [];
  /** Sessions the execute step asked STS for. */
  readonly sessions: AssumeForActionInput[] = [];
  readonly callbacks = new LocalCallbacks();
  readonly signer = LocalSigner.generate('workflow-test-receipts');
  /** The decision path (castBallot) wired to this harness's callbacks and publisher. */
  readonly decide: DecideDeps;
  private readonly machine: StateMachine;
  private readonly handlers: Readonly<Record<WorkflowHandler, (payload: Json) => Promise<unknown>>>;

  constructor(
    private readonly workflow: SynthesizedWorkflow,
    deps: TestDeps,
  ) {
    this.machine = new StateMachine(forInterpreter(workflow.definition));
    const publisher: OutcomePublisher = { publish: async (event) => void this.decisionEvents.push(event) };
    this.decide = { ...deps.decide, callbacks: this.callbacks, publisher };
    const settings = readExecuteSettings({ ...workflow.executeEnvironment, AWS_REGION: 'eu-west-1' });
    const executeDeps: ExecuteDeps = {
      logger,
      requests: deps.decide.requests,
      clock: deps.clock,
      credentials: {
        assumeForAction: async (input) => {
          this.sessions.push(input);
          return {
            accessKeyId: 'ASIAWORKFLOWTEST',
            secretAccessKey: 'not-a-secret',
            sessionToken: 'session',
            expiration: new Date(deps.clock.now().getTime() + 900_000),
          };
        },
      },
      executor: {
        run: async (plan) => {
          const summary = { operation: plan.operation, resource: plan.resource };
          return ok({ recorded: summary, delivered: summary });
        },
      },
      signer: this.signer,
      executionRoles: settings.executionRoles,
    };
    const pathDeps = {
      ...deps.decide,
      notifiers: deps.decide.notifiers,
      onNotifierError: deps.decide.onNotifierError,
    };
    this.handlers = {
      evaluate: (payload) => {
        const { event, executionId } = parseEvaluateInput(payload);
        return evaluateRequest(event, deps.evaluate, executionId);
      },
      'request-approval': async (payload) => {
        const input = payload as { requestId: string; taskToken: string };
        await requestApproval(input, pathDeps);
        return this.callbacks.waitFor(input.taskToken);
      },
      expire: (payload) => expireRequest(payload as { requestId: string }, pathDeps),
      execute: (payload) => executeApproved(parseExecuteInput(payload), executeDeps),
      fail: (payload) => failRequest(payload as FailureInput, deps.decide),
    };
  }

  /** Starts an execution with `event` as input; `taskToken` is what `$$.Task.Token` yields. */
  run(event: unknown, taskToken: string): WorkflowRun {
    const options: RunOptions = {
      overrides: { taskResourceLocalHandlers: this.taskHandlers() },
      context: {
        Task: { Token: taskToken },
        Execution: { Id: `arn:aws:states:eu-west-1:111122223333:execution:workflow-test:${randomUUID()}` },
      } as RunOptions['context'],
    };
    const execution = this.machine.run(toJson(event), options);
    const events: EventLog[] = [];
    const collected = (async () => {
      for await (const entry of execution.eventLogs) events.push(entry);
    })();
    return {
      result: execution.result as Promise<Json>,
      events,
      statesEntered: () =>
        events.flatMap((entry) => (entry.type === 'StateEntered' ? [entry.state.name] : [])),
      finished: () => collected,
    };
  }

  private taskHandlers(): NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']> {
    const byArn = new Map(
      Object.entries(this.workflow.functionArns).map(([handler, arn]) => [arn, handler as WorkflowHandler]),
    );
    const bound: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [name, state] of Object.entries(
      this.workflow.definition.States as Record<string, JsonObject>,
    )) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      if (/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/.test(resource)) {
        const arn = String((state.Parameters as JsonObject).FunctionName);
        const handler = byArn.get(arn);
        if (!handler)
          throw new Error(`task ${name} invokes ${arn}, which is none of the workflow's handlers`);
        const callback = resource.endsWith('.waitForTaskToken');
        bound[name] = async (input) => {
          // The interpreter bridge adds keys beside Payload, never in it: the handler sees what Step Functions sends.
          const payload = (input as JsonObject).Payload as JsonObject;
          const output = toJson(await this.handlers[handler](payload));
          // A callback task's result is what SendTaskSuccess sent; a plain invoke's is Lambda's response.
          return callback ? output : { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: output };
        };
      } else if (resource === 'arn:aws:states:::events:putEvents') {
        bound[name] = async (input) => {
          const entries = (input as unknown as { Entries: PublishedEntry[] }).Entries;
          this.published.push(...entries);
          return {
            FailedEntryCount: 0,
            Entries: entries.map((_entry, index) => ({ EventId: `event-${this.published.length}-${index}` })),
          };
        };
      } else {
        throw new Error(`task ${name} calls ${resource}, which the harness cannot bind`);
      }
    }
    return bound;
  }
}

/** What crossing a JSON boundary (Lambda's payload, Step Functions' state) leaves of a value. */
function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

/** Waits, without timers (tests may fake them), until `condition` holds. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 15_000,
): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
