import { onFirstUse } from '../../lambdas/core/on-first-use';

describe('onFirstUse', () => {
  it('builds nothing until the value is first asked for', () => {
    const build = jest.fn(() => ({ built: true }));

    onFirstUse(build);

    expect(build).not.toHaveBeenCalled();
  });

  it('builds once and returns the same value every time', () => {
    const build = jest.fn(() => ({ built: true }));
    const value = onFirstUse(build);

    const first = value();
    const second = value();

    expect(build).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
  });

  it('keeps a built undefined rather than building again', () => {
    const build = jest.fn((): undefined => undefined);
    const value = onFirstUse(build);

    value();
    value();

    expect(build).toHaveBeenCalledTimes(1);
  });
});
