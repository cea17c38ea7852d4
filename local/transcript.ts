import type { Activity } from './runtime';

/** The terminal line `npm start` prints for a state change or an outcome; nothing for the rest. */
export function describeActivity(activity: Activity): string | undefined {
  switch (activity.kind) {
    case 'state':
      if (activity.error)
        return `${activity.requestId ?? activity.executionName}  ${activity.state} failed: ${activity.error.split('\n')[0]}`;
      if (activity.waiting) return `${activity.requestId}  waiting for reviewers in the console`;
      return `${activity.requestId ?? activity.executionName}  → ${activity.state}`;
    case 'outcome':
      return `${(activity.event.detail as { requestId?: string }).requestId}  ⇒ ${activity.event['detail-type']}`;
    case 'execution':
      return undefined;
  }
}
