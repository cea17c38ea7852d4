import { InMemoryTables } from '../../lambdas/adapters/in-memory-store';
import { createHandler, stuckAfterSecondsFrom } from '../../lambdas/handlers/sweep';
import { ManualClock } from '../support/fixtures';

describe('Handler: sweep', () => {
  it('runs the sweep with the deps it was created with', async () => {
    const tables = new InMemoryTables();
    const handler = createHandler({
      requests: tables.requestsStore,
      clock: new ManualClock(),
      publisher: { publish: async () => undefined },
      stuckAfterSeconds: 120,
    });

    await expect(handler({})).resolves.toEqual({ failed: [] });
  });

  it('reads STUCK_AFTER_SECONDS as whole seconds', () => {
    expect(stuckAfterSecondsFrom('120')).toBe(120);
  });

  it.each([undefined, '0', '2m', '1.5'])('refuses %p as STUCK_AFTER_SECONDS', (setting) => {
    expect(() => stuckAfterSecondsFrom(setting)).toThrow(
      `STUCK_AFTER_SECONDS must be a positive whole number of seconds, not "${setting}"`,
    );
  });
});
