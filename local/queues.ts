import { createHash, randomUUID } from 'node:crypto';

interface QueuedMessage {
  readonly MessageId: string;
  readonly Body: string;
  receiptHandle?: string;
  invisibleUntil: number;
}

interface Waiter {
  readonly wake: () => void;
}

const VISIBILITY_TIMEOUT_MS = 30_000;

/**
 * The local stand-in for the SQS queues agents read their outcome events from: enough of SQS's
 * JSON protocol for the agent client (GetQueueUrl, ReceiveMessage with long polling,
 * DeleteMessage), with at-least-once delivery and a visibility timeout like the real one.
 */
export class LocalQueues {
  private readonly queues = new Map<string, QueuedMessage[]>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly baseUrl: () => string) {}

  urlOf(queueName: string): string {
    return `${this.baseUrl()}/queues/${queueName}`;
  }

  send(queueName: string, body: string): void {
    this.queue(queueName).push({ MessageId: randomUUID(), Body: body, invisibleUntil: 0 });
    for (const waiter of this.waiters.get(queueName) ?? []) waiter.wake();
  }

  async receive(queueUrl: string, max: number, waitSeconds: number, signal: AbortSignal) {
    const name = this.nameOf(queueUrl);
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const now = Date.now();
      const visible = this.queue(name)
        .filter((message) => message.invisibleUntil <= now)
        .slice(0, Math.max(1, Math.min(10, max)));
      if (visible.length > 0 || now >= deadline || signal.aborted) {
        return visible.map((message) => {
          message.receiptHandle = randomUUID();
          message.invisibleUntil = now + VISIBILITY_TIMEOUT_MS;
          return {
            MessageId: message.MessageId,
            ReceiptHandle: message.receiptHandle,
            Body: message.Body,
            MD5OfBody: createHash('md5').update(message.Body).digest('hex'),
          };
        });
      }
      await this.wait(name, deadline - now, signal);
    }
  }

  /** Makes a received message visible again after `seconds` (0: at once). */
  changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): void {
    const name = this.nameOf(queueUrl);
    const message = this.queue(name).find((candidate) => candidate.receiptHandle === receiptHandle);
    if (!message) return;
    message.invisibleUntil = Date.now() + seconds * 1000;
    if (seconds === 0) for (const waiter of this.waiters.get(name) ?? []) waiter.wake();
  }

  delete(queueUrl: string, receiptHandle: string): void {
    const messages = this.queue(this.nameOf(queueUrl));
    const index = messages.findIndex((message) => message.receiptHandle === receiptHandle);
    if (index >= 0) messages.splice(index, 1);
  }

  private wait(name: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiters.get(name) ?? new Set<Waiter>();
      this.waiters.set(name, waiters);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { wake: done };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      waiters.add(waiter);
    });
  }

  private queue(name: string): QueuedMessage[] {
    let messages = this.queues.get(name);
    if (!messages) {
      messages = [];
      this.queues.set(name, messages);
    }
    return messages;
  }

  private nameOf(queueUrl: string): string {
    return queueUrl.split('/').at(-1) ?? '';
  }
}
