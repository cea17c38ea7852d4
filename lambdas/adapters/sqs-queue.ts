import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Sends messages to one SQS queue. */
export class SqsQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: string): Promise<void> {
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body }));
  }
}
