import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { UnauthenticatedCallback, UnauthenticatedCallbacks } from '../app/ports';
import { logger } from './logger';

/** The names the construct's alarm watches: change them together with lib/. */
export const UNAUTHENTICATED_CALLBACKS_METRIC = {
  namespace: 'ActionApprovals',
  serviceName: 'action-approvals',
  metricName: 'UnauthenticatedCallbacks',
  channelDimension: 'channel',
} as const;

/** How an instance samples its log lines of refused callbacks; every one is counted regardless. */
export interface LogSampling {
  /** The first this many are logged, so a lone probe is always visible. */
  readonly first: number;
  /** After them, one in this many. */
  readonly oneIn: number;
}

export const UNAUTHENTICATED_LOG_SAMPLING: LogSampling = { first: 10, oneIn: 100 };

/**
 * Counts every unauthenticated callback in CloudWatch (embedded metric format, one data point per
 * callback, dimensions `service` and `channel`) and logs a sample of them
 * ({@link UNAUTHENTICATED_LOG_SAMPLING}), so a flood of junk costs neither audit records nor logs.
 */
export class UnauthenticatedCallbackMeter implements UnauthenticatedCallbacks {
  private readonly metrics = new Metrics({
    namespace: UNAUTHENTICATED_CALLBACKS_METRIC.namespace,
    serviceName: UNAUTHENTICATED_CALLBACKS_METRIC.serviceName,
  });
  private refusedSoFar = 0;

  constructor(private readonly sampling: LogSampling = UNAUTHENTICATED_LOG_SAMPLING) {}

  refused(callback: UnauthenticatedCallback): void {
    this.refusedSoFar += 1;
    const point = this.metrics.singleMetric();
    point.addDimension(UNAUTHENTICATED_CALLBACKS_METRIC.channelDimension, callback.channel);
    point.addMetric(UNAUTHENTICATED_CALLBACKS_METRIC.metricName, MetricUnit.Count, 1);
    const { first, oneIn } = this.sampling;
    if (this.refusedSoFar <= first || this.refusedSoFar % oneIn === 0) {
      logger.warn('unauthenticated callback refused', {
        ...callback,
        refusedByThisInstance: this.refusedSoFar,
        sampling: `the first ${first}, then one in ${oneIn}`,
      });
    }
  }
}
