import { maxApprovalTtlFrom } from '../../lambdas/handlers/evaluate';

describe('Setting: MAX_APPROVAL_TTL_SECONDS', () => {
  it('is read as a whole number of seconds', () => {
    expect(maxApprovalTtlFrom('43200')).toBe(43_200);
  });

  it('leaves the ttl unbounded when unset, as in the local runtime', () => {
    expect(maxApprovalTtlFrom(undefined)).toBeUndefined();
  });

  it.each(['0', '-5', '12.5', '', '12h'])('refuses %p, failing every request closed', (setting) => {
    expect(() => maxApprovalTtlFrom(setting)).toThrow(
      `MAX_APPROVAL_TTL_SECONDS must be a positive whole number of seconds, not "${setting}"`,
    );
  });
});
