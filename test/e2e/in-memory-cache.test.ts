import { InMemoryCache } from '../../local/in-memory-cache';

describe('the in-memory cache Slack clicks are remembered in without Java', () => {
  let now = 1_000_000;
  const cache = new InMemoryCache(() => now);

  it('sets a key only if absent when asked NX, as Redis does', async () => {
    const first = await cache.set('nx', 'a', { NX: true, EX: 60 });
    const second = await cache.set('nx', 'b', { NX: true, EX: 60 });

    expect([first, second, await cache.get('nx')]).toEqual(['OK', null, 'a']);
  });

  it('forgets a key once its EX seconds have passed', async () => {
    await cache.set('ex', 'a', { EX: 10 });
    const before = await cache.get('ex');
    now += 10_000;

    expect([before, await cache.get('ex'), await cache.set('ex', 'b', { NX: true })]).toEqual([
      'a',
      null,
      'OK',
    ]);
  });

  it('deletes keys and counts the ones that existed', async () => {
    await cache.set('gone', 'a');

    expect([await cache.del(['gone', 'never']), await cache.get('gone')]).toEqual([1, null]);
  });
});
