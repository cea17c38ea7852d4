import type { ApprovalCard, CardOutcome } from '../core/card';
import type { RequestRecord } from '../core/lifecycle';
import type { ApprovalNotifier } from './ports';

/**
 * Shows a request's progress or outcome on every card posted for it. A channel that cannot be
 * reached is reported, never fatal: the decision stands whatever a chat service does.
 */
export async function updateCards(
  record: RequestRecord,
  card: ApprovalCard,
  outcome: CardOutcome,
  deps: {
    readonly notifiers: readonly ApprovalNotifier[];
    readonly onNotifierError: (channel: string, error: unknown) => void;
  },
): Promise<void> {
  const { messages } = record;
  if (!messages) return;
  await Promise.all(
    deps.notifiers.map(async (notifier) => {
      if (!messages[notifier.channel]) return;
      try {
        await notifier.update(messages, card, outcome);
      } catch (error) {
        deps.onNotifierError(notifier.channel, error);
      }
    }),
  );
}
