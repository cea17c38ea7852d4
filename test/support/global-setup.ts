import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local';

declare global {
  var dynamoDbLocal: DynamoDbLocal | undefined;
}

// One DynamoDB Local for the whole run; each suite creates its own uniquely named tables.
export default async function globalSetup(): Promise<void> {
  globalThis.dynamoDbLocal = await startDynamoDbLocal();
  process.env.DYNAMODB_LOCAL_ENDPOINT = globalThis.dynamoDbLocal.endpoint;
}
