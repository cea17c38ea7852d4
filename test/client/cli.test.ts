import { exitCodeFor } from '../../client/cli';

const detail = {};

test('an executed action exits 0', () => {
  expect(exitCodeFor({ requestId: 'r', outcome: 'executed', detail })).toBe(0);
});

test('a simulated action exits 4, so a pipeline cannot mistake a local stand-in for a change', () => {
  expect(exitCodeFor({ requestId: 'r', outcome: 'simulated', detail })).toBe(4);
});

test.each(['denied', 'expired', 'failed', 'rejected'] as const)('a %s action exits 1', (outcome) => {
  expect(exitCodeFor({ requestId: 'r', outcome, detail })).toBe(1);
});

test('no outcome before the timeout exits 3', () => {
  expect(exitCodeFor({ requestId: 'r', outcome: 'timed-out' })).toBe(3);
});
