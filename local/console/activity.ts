import type { Activity } from '../runtime';

export type ActivityListener = (activity: Activity) => void;

/**
 * Fans the runtime's one `onActivity` callback out to any number of listeners: the terminal, the
 * console's live updates, a test. Pass `publish` to `LocalRuntime.start` and `subscribe` to
 * `startConsole`.
 */
export class ActivityFeed {
  private readonly listeners = new Set<ActivityListener>();

  readonly publish = (activity: Activity): void => {
    for (const listener of this.listeners) listener(activity);
  };

  /** Returns the function that unsubscribes. */
  readonly subscribe = (listener: ActivityListener): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };
}
