import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ActionApprovalsError, type OutcomePublisher } from '../app/ports';
import type { OutcomeEvent } from '../core/outcome';

/** Publishes outcome events on the system's bus. */
export class EventBridgePublisher implements OutcomePublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(event: OutcomeEvent): Promise<void> {
    const result = await this.client.send(
      new PutEventsCommand({ Entries: [{ ...event, EventBusName: this.eventBusName }] }),
    );
    // PutEvents answers 200 even when an entry was refused; the entry carries the error.
    if (result.FailedEntryCount) {
      const entry = result.Entries?.[0];
      throw new ActionApprovalsError(
        `outcome event refused: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
