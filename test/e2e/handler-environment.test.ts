import { handlerEnvironment } from '../../local/runtime';
import { sampleDirectory } from '../../local/samples';

const local = {
  dynamodbEndpoint: 'http://127.0.0.1:8000',
  gatewayUrl: 'http://127.0.0.1:9000',
  directory: sampleDirectory,
};

describe('Function: handlerEnvironment', () => {
  it('points STS and the approved actions at the local gateway by default', () => {
    const environment = handlerEnvironment({ ...local, useAws: false }, {});

    expect(environment).toMatchObject({
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9000',
      ACTION_ENDPOINT_URL: 'http://127.0.0.1:9000',
      AWS_ACCESS_KEY_ID: 'local',
    });
  });

  it('leaves STS, the approved actions and the credentials to AWS with --aws', () => {
    const roles = '{"data-export":"arn:aws:iam::123456789012:role/export"}';

    const environment = handlerEnvironment(
      { ...local, useAws: true },
      { EXECUTION_ROLES_JSON: roles, AWS_REGION: 'eu-west-1' },
    );

    expect(Object.keys(environment)).not.toContain('AWS_ENDPOINT_URL_STS');
    expect([environment.ACTION_ENDPOINT_URL, environment.AWS_ACCESS_KEY_ID]).toEqual([undefined, undefined]);
    expect([
      environment.EXECUTION_ROLES_JSON,
      environment.AWS_REGION,
      environment.AWS_ENDPOINT_URL_DYNAMODB,
    ]).toEqual([roles, 'eu-west-1', 'http://127.0.0.1:8000']);
  });

  it('names no DynamoDB endpoint and no idempotency table when the tables are in memory', () => {
    const { dynamodbEndpoint: _inMemory, ...withoutDynamoDb } = local;

    const environment = handlerEnvironment({ ...withoutDynamoDb, useAws: false }, {});

    expect([environment.AWS_ENDPOINT_URL_DYNAMODB, environment.IDEMPOTENCY_TABLE_NAME]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('refuses --aws without execution roles, saying what to set', () => {
    expect(() => handlerEnvironment({ ...local, useAws: true }, {})).toThrow(
      '--aws needs EXECUTION_ROLES_JSON',
    );
  });
});
