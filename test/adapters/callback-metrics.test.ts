import { UnauthenticatedCallbackMeter } from '../../lambdas/adapters/callback-metrics';
import type { UnauthenticatedCallback } from '../../lambdas/app/ports';
import { captureOutput } from '../support/output';

const forged = (channel: 'slack' | 'teams'): UnauthenticatedCallback => ({
  channel,
  refusal: 'signature-mismatch',
  reason: 'the signature does not match the request',
  sourceIp: '203.0.113.9',
  userAgent: 'curl/8',
  bodyBytes: 42,
});

/** The JSON lines written, split into embedded-metric-format documents and log lines. */
function linesOf(output: string): { metrics: Record<string, unknown>[]; logs: Record<string, unknown>[] } {
  const lines = output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { metrics: lines.filter((line) => '_aws' in line), logs: lines.filter((line) => !('_aws' in line)) };
}

describe('Attack class 8: junk costs nothing permanent', () => {
  it.each(['slack', 'teams'] as const)(
    'counts an unauthenticated %s callback as UnauthenticatedCallbacks in ActionApprovals, by service and channel',
    async (channel) => {
      const meter = new UnauthenticatedCallbackMeter();

      const { metrics } = linesOf(await captureOutput(async () => meter.refused(forged(channel))));

      expect(metrics).toEqual([
        {
          _aws: {
            Timestamp: expect.any(Number),
            CloudWatchMetrics: [
              {
                Namespace: 'ActionApprovals',
                Dimensions: [['service', 'channel']],
                Metrics: [{ Name: 'UnauthenticatedCallbacks', Unit: 'Count' }],
              },
            ],
          },
          service: 'action-approvals',
          channel,
          UnauthenticatedCallbacks: 1,
        },
      ]);
    },
  );

  it('counts every callback of a flood but logs only a sample of them', async () => {
    const meter = new UnauthenticatedCallbackMeter({ first: 2, oneIn: 10 });

    const { metrics, logs } = linesOf(
      await captureOutput(async () => {
        for (let i = 0; i < 25; i += 1) meter.refused(forged('slack'));
      }),
    );

    expect(metrics).toHaveLength(25);
    expect(logs.map((line) => line.refusedByThisInstance)).toEqual([1, 2, 10, 20]);
    expect(logs[0]).toMatchObject({
      message: 'unauthenticated callback refused',
      channel: 'slack',
      refusal: 'signature-mismatch',
      sourceIp: '203.0.113.9',
    });
  });
});
