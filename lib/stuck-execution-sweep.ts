import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { OPEN_REQUESTS_INDEX } from '../lambdas/adapters/tables';
import type { ApprovalFunctions } from './approval-functions';
import type { ApprovalTables } from './approval-tables';
import type { HandlerFunction } from './handler-function';

export interface StuckExecutionSweepProps {
  readonly functions: ApprovalFunctions;
  readonly tables: ApprovalTables;
  readonly eventBus: events.IEventBus;
  /** How often the sweep runs. */
  readonly interval: Duration;
}

/**
 * The scheduled sweep that ends requests a dead execute invocation left in `executing` (see
 * lambdas/app/sweep.ts). An execution counts as stuck once the execute function's timeout and a
 * minute more have passed since its claim: by then no invocation of it can still be running.
 * A part of `ActionApprovals`, in the construct's own scope.
 */
export class StuckExecutionSweep {
  /** The sweep function. */
  public readonly sweep: HandlerFunction;
  /** The schedule that invokes it (a Lambda target: a resource-based permission, no role). */
  public readonly schedule: events.Rule;
  /**
   * How long after the execute function claims a request it has certainly left `executing`:
   * ended by that invocation, or by a run of this sweep once the claim counts as stuck.
   */
  public readonly executionsEndWithin: Duration;

  constructor(scope: Construct, props: StuckExecutionSweepProps) {
    const { functions, tables, eventBus } = props;
    const executeTimeout = functions.execute.function.timeout ?? Duration.seconds(3);
    const stuckAfter = executeTimeout.plus(Duration.minutes(1));
    this.sweep = functions.handler('SweepStuckExecutions', {
      handler: 'sweep',
      description: 'action-approvals: end requests a dead execute invocation left in executing as failed',
      environment: {
        ...functions.runtimeEnvironment,
        STUCK_AFTER_SECONDS: String(stuckAfter.toSeconds()),
      },
    });
    this.executionsEndWithin = stuckAfter
      .plus(props.interval)
      .plus(this.sweep.function.timeout ?? Duration.seconds(3));
    tables.grantItems(this.sweep, tables.requests, ['GetItem', 'PutItem']);
    tables.grantItems(this.sweep, tables.auditLog, ['PutItem']);
    this.sweep.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FindStuckExecutions',
        actions: ['dynamodb:Query'],
        resources: [`${tables.requests.tableArn}/index/${OPEN_REQUESTS_INDEX.indexName}`],
      }),
    );
    this.sweep.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishFailures',
        actions: ['events:PutEvents'],
        resources: [eventBus.eventBusArn],
      }),
    );
    this.schedule = new events.Rule(scope, 'SweepSchedule', {
      description: 'action-approvals: look for requests stuck in executing',
      schedule: events.Schedule.rate(props.interval),
      targets: [new targets.LambdaFunction(this.sweep.function, { retryAttempts: 2 })],
    });
  }
}
