import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

type Worker = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface LocalVoteQueueOptions {
  /** Receives before a job moves to the dead letters, as the construct's redrive policy. @default 5 */
  readonly maxReceiveCount?: number;
  /** How long a failed job stays invisible before its next receive. @default 1000 */
  readonly retryDelayMs?: number;
}

interface Job {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receives: number;
}

/**
 * The slack-votes queue and its event source mapping on one machine: `send` returns at once, as
 * SendMessage does, and the worker handler gets each job in an SQS event afterwards; a job it
 * reports as failed (or that throws) is delivered again after a delay, and after its last
 * receive it is kept in `deadLetters`, as the dead-letter queue keeps it.
 */
export class LocalSlackVoteQueue {
  readonly deadLetters: string[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly maxReceiveCount: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly worker: Worker,
    options: LocalVoteQueueOptions = {},
  ) {
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
  }

  send(body: string): Promise<void> {
    this.schedule({ messageId: randomUUID(), body, sentAt: Date.now(), receives: 0 }, 0);
    return Promise.resolve();
  }

  /** Resolves once every job sent so far has been handled, retries and dead letters included. */
  async drained(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private schedule(job: Job, delayMs: number): void {
    const delivery = new Promise<void>((resolve) => setTimeout(resolve, delayMs))
      .then(() => this.deliver(job))
      .finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  private async deliver(job: Job): Promise<void> {
    job.receives += 1;
    let failed: boolean;
    try {
      const answer = await this.worker({ Records: [record(job)] });
      failed = answer.batchItemFailures.some((failure) => failure.itemIdentifier === job.messageId);
    } catch {
      failed = true;
    }
    if (!failed) return;
    if (job.receives >= this.maxReceiveCount) this.deadLetters.push(job.body);
    else this.schedule(job, this.retryDelayMs);
  }
}

function record(job: Job): SQSRecord {
  return {
    messageId: job.messageId,
    receiptHandle: `${job.messageId}-${job.receives}`,
    body: job.body,
    attributes: {
      ApproximateReceiveCount: String(job.receives),
      SentTimestamp: String(job.sentAt),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(job.sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:slack-votes',
    awsRegion: 'eu-west-1',
  };
}
