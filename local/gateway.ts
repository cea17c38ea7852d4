import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import type { HttpResponse } from '../lambdas/app/ports';
import { httpApiEvent } from './lambda-events';
import type { LocalEventBus, PutEventsEntry } from './event-bus';
import type { LocalKms } from './local-kms';
import { assumeRoleResponse, StsRequestError, stsErrorResponse, type LocalSts } from './local-sts';
import type { LocalQueues } from './queues';
import {
  DECLARED_ACTION_HEADER,
  DECLARED_RESOURCE_HEADER,
  STAND_IN_HEADER,
} from '../lambdas/adapters/sdk-command-executor';
import { TargetError } from './target-error';
import type { DeclaredCall, LocalTargets, StandInAnswer, WireCall } from './targets';
import { TaskTokenError, type TaskTokens } from './task-tokens';

export interface GatewayServices {
  readonly bus: LocalEventBus;
  readonly tokens: TaskTokens;
  readonly sts: LocalSts;
  readonly queues: LocalQueues;
  readonly targets: LocalTargets;
  readonly kms: LocalKms;
  readonly now: () => Date;
  /** The status API's function, serving its GET routes as API Gateway would. */
  readonly status?: (event: APIGatewayProxyEventV2WithIAMAuthorizer) => Promise<HttpResponse>;
}

/** The status API's routes, as API Gateway matches them. */
const STATUS_ROUTES: readonly { readonly pattern: RegExp; readonly routeKey: string }[] = [
  { pattern: /^\/v1\/agents\/(?<agentId>[^/]+)\/requests$/, routeKey: 'GET /v1/agents/{agentId}/requests' },
  {
    pattern: /^\/v1\/agents\/(?<agentId>[^/]+)\/requests\/(?<id>[^/]+)$/,
    routeKey: 'GET /v1/agents/{agentId}/requests/{id}',
  },
  { pattern: /^\/v1\/requests$/, routeKey: 'GET /v1/requests' },
  { pattern: /^\/v1\/requests\/(?<id>[^/]+)$/, routeKey: 'GET /v1/requests/{id}' },
];

/** An AWS JSON-protocol error: the SDK maps `__type` to its exception class. */
class ProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * One loopback HTTP endpoint that speaks the AWS wire protocols the product and agents call:
 * EventBridge PutEvents, Step Functions SendTask*, STS AssumeRole, KMS Sign for receipts, SQS
 * for outcome queues, and the action targets an executor reaches. Clients are the real AWS SDK with only an endpoint override.
 */
export class LocalGateway {
  private server: Server | undefined;
  private address = '';

  constructor(private readonly services: GatewayServices) {}

  get url(): string {
    return this.address;
  }

  async start(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          respondJson(response, 500, { __type: 'InternalFailure', message: String(error) });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.address;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const body = raw.toString('utf8');
    const target = String(request.headers['x-amz-target'] ?? '');
    // Signed in the Authorization header, or in the query of a pre-signed URL (what an agent is
    // handed for an object it may read).
    const accessKeyId =
      /Credential=([A-Z0-9]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ??
      /^([A-Z0-9]+)\//.exec(
        new URL(request.url ?? '/', 'http://local').searchParams.get('X-Amz-Credential') ?? '',
      )?.[1];
    const { services } = this;
    try {
      const answered = await this.actionTarget(request, raw, accessKeyId);
      if (answered) return respondStandIn(response, answered);
      if (target.startsWith('AWSEvents.'))
        return respondJson(response, 200, this.events(target, parse(body)));
      if (target.startsWith('AWSStepFunctions.'))
        return respondJson(response, 200, this.stepFunctions(target, parse(body)));
      if (target.startsWith('AmazonSQS.'))
        return respondJson(response, 200, await this.sqs(target, parse(body), request));
      if (target === 'TrentService.Sign') return respondJson(response, 200, services.kms.sign(parse(body)));
      if (target === 'TrentService.GetPublicKey')
        return respondJson(response, 200, services.kms.getPublicKey(parse(body)));
      if (target === 'DynamoDB_20120810.ExportTableToPointInTime') {
        return respondJson(
          response,
          200,
          await services.targets.exportTable(accessKeyId, parse(body), services.now()),
        );
      }
      if (target.startsWith('DynamoDB_20120810.')) {
        const operation = target.slice('DynamoDB_20120810.'.length);
        return respondJson(
          response,
          200,
          await services.targets.dynamodb(accessKeyId, operation, parse(body), services.now()),
        );
      }
      if (target)
        throw new ProtocolError(400, 'UnknownOperationException', `${target} is not available in local mode`);
      const form = new URLSearchParams(body);
      if (request.method === 'POST' && form.get('Action') === 'AssumeRole')
        return this.assumeRole(form, response);
      if (request.method === 'GET' && this.services.status) {
        const served = await this.statusRoute(request, accessKeyId, response);
        if (served) return;
      }
      if (request.method === 'GET') return await this.getObject(request, accessKeyId, response);
      throw new ProtocolError(
        400,
        'UnknownOperationException',
        `${request.method} ${request.url} is not available in local mode`,
      );
    } catch (error) {
      if (error instanceof ProtocolError)
        return respondJson(response, error.status, { __type: error.type, message: error.message });
      if (error instanceof TaskTokenError)
        return respondJson(response, 400, { __type: error.code, message: error.message });
      if (error instanceof TargetError)
        return respondJson(response, error.status, { __type: error.code, message: error.message });
      throw error;
    }
  }

  /**
   * Calls an executor makes in local mode that no fixed route above serves: ECS and EC2 calls
   * (answered by the stand-ins, preview reads included), S3 calls beyond an object read, and any
   * other service's call the executor declares (recorded). DynamoDB keeps its own route below.
   */
  private async actionTarget(
    request: IncomingMessage,
    raw: Buffer,
    accessKeyId: string | undefined,
  ): Promise<StandInAnswer | S3Answer | undefined> {
    const { targets, now } = this.services;
    const body = raw.toString('utf8');
    const target = String(request.headers['x-amz-target'] ?? '');
    const contentType = String(request.headers['content-type'] ?? '');
    const [, region = '', service = ''] =
      /Credential=[A-Z0-9]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(String(request.headers.authorization ?? '')) ??
      [];
    const declared = declaredCall(request);
    const queryAction = contentType.startsWith('application/x-www-form-urlencoded')
      ? (new URLSearchParams(body).get('Action') ?? undefined)
      : undefined;
    const wire: WireCall = {
      region,
      contentType,
      body,
      raw,
      ...(target
        ? { protocol: 'json', operation: target.slice(target.lastIndexOf('.') + 1) }
        : queryAction
          ? { protocol: service === 'ec2' ? 'ec2' : 'query', operation: queryAction }
          : { protocol: 'rest' }),
    };
    if (target.startsWith('AmazonEC2ContainerServiceV20141113.'))
      return targets.ecs(accessKeyId, wire, declared, now());
    if (service === 'ec2' && queryAction) return targets.ec2(accessKeyId, wire, declared, now());
    if (!declared) return undefined;
    const declaredService = declared.action.split(':')[0];
    if (declaredService === 's3') {
      try {
        return await targets.s3(
          accessKeyId,
          { method: request.method ?? 'GET', url: request.url ?? '/' },
          wire,
          declared,
          now(),
        );
      } catch (error) {
        if (!(error instanceof TargetError)) throw error;
        return {
          status: error.status,
          headers: { 'content-type': 'application/xml' },
          body: `<Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>`,
        };
      }
    }
    if (declaredService === 'dynamodb') return undefined;
    return targets.record(accessKeyId, wire, declared, now());
  }

  private events(target: string, body: Record<string, unknown>) {
    if (target !== 'AWSEvents.PutEvents')
      throw new ProtocolError(400, 'UnknownOperationException', `${target} is not available in local mode`);
    const entries = this.services.bus.put((body.Entries ?? []) as PutEventsEntry[]);
    return { FailedEntryCount: entries.filter((entry) => 'ErrorCode' in entry).length, Entries: entries };
  }

  private stepFunctions(target: string, body: Record<string, unknown>) {
    const token = String(body.taskToken ?? '');
    switch (target) {
      case 'AWSStepFunctions.SendTaskSuccess':
        this.services.tokens.succeed(token, String(body.output ?? ''));
        return {};
      case 'AWSStepFunctions.SendTaskFailure':
        this.services.tokens.fail(token, String(body.error ?? ''), String(body.cause ?? ''));
        return {};
      default:
        throw new ProtocolError(400, 'UnknownOperationException', `${target} is not available in local mode`);
    }
  }

  private async sqs(target: string, body: Record<string, unknown>, request: IncomingMessage) {
    const { queues } = this.services;
    switch (target) {
      case 'AmazonSQS.GetQueueUrl':
        return { QueueUrl: queues.urlOf(String(body.QueueName ?? '')) };
      case 'AmazonSQS.ReceiveMessage': {
        const aborted = new AbortController();
        request.once('close', () => aborted.abort());
        const messages = await queues.receive(
          String(body.QueueUrl ?? ''),
          Number(body.MaxNumberOfMessages ?? 1),
          Math.min(20, Number(body.WaitTimeSeconds ?? 0)),
          aborted.signal,
        );
        return messages.length > 0 ? { Messages: messages } : {};
      }
      case 'AmazonSQS.ChangeMessageVisibility':
        queues.changeVisibility(
          String(body.QueueUrl ?? ''),
          String(body.ReceiptHandle ?? ''),
          Number(body.VisibilityTimeout ?? 0),
        );
        return {};
      case 'AmazonSQS.DeleteMessage':
        queues.delete(String(body.QueueUrl ?? ''), String(body.ReceiptHandle ?? ''));
        return {};
      default:
        throw new ProtocolError(400, 'UnsupportedOperation', `${target} is not available in local mode`);
    }
  }

  /**
   * Serves a status API route. There is no IAM here, as in the console: the caller named by an
   * agent route is taken as that agent, and `/v1/requests…` callers are a local principal the
   * directory does not know, so the handler refuses them.
   */
  private async statusRoute(
    request: IncomingMessage,
    accessKeyId: string | undefined,
    response: ServerResponse,
  ): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://local');
    const route = STATUS_ROUTES.find(({ pattern }) => pattern.test(url.pathname));
    const status = this.services.status;
    if (!route || !status) return false;
    const pathParameters = Object.fromEntries(
      Object.entries(route.pattern.exec(url.pathname)?.groups ?? {}).map(([name, value]) => [
        name,
        decodeURIComponent(value),
      ]),
    );
    const event = {
      ...httpApiEvent({
        routeKey: route.routeKey,
        headers: {},
        body: '',
        rawQueryString: url.search.slice(1),
      }),
      rawPath: url.pathname,
      pathParameters,
      queryStringParameters: Object.fromEntries(url.searchParams),
    };
    const answer = await status({
      ...event,
      requestContext: {
        ...event.requestContext,
        authorizer: {
          iam: {
            accessKey: accessKeyId ?? '',
            accountId: '000000000000',
            callerId: 'local',
            cognitoIdentity: null,
            principalOrgId: '',
            userArn: `arn:aws:sts::000000000000:assumed-role/local/${accessKeyId ?? 'anonymous'}`,
            userId: 'local',
          },
        },
      },
    });
    respond(response, answer.statusCode, 'application/json', answer.body);
    return true;
  }

  private assumeRole(form: URLSearchParams, response: ServerResponse): void {
    const requestId = randomUUID();
    try {
      const session = this.services.sts.assumeRole(form, this.services.now());
      respond(response, 200, 'text/xml', assumeRoleResponse(session, requestId));
    } catch (error) {
      if (!(error instanceof StsRequestError)) throw error;
      respond(response, 400, 'text/xml', stsErrorResponse(error, requestId));
    }
  }

  private async getObject(
    request: IncomingMessage,
    accessKeyId: string | undefined,
    response: ServerResponse,
  ): Promise<void> {
    const [bucket, ...key] = decodeURIComponent(new URL(request.url ?? '/', 'http://local').pathname)
      .slice(1)
      .split('/');
    try {
      const object = await this.services.targets.getObject(
        accessKeyId,
        bucket,
        key.join('/'),
        this.services.now(),
      );
      response.writeHead(200, {
        'content-type': contentTypeOf(key.join('/')),
        'content-length': object.length,
        etag: `"${createHash('md5').update(object).digest('hex')}"`,
      });
      response.end(object);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      respond(
        response,
        error.status,
        'application/xml',
        `<Error><Code>${error.code}</Code><Message>${error.message}</Message></Error>`,
      );
    }
  }
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An S3 answer: headers of its own, and a body that may be an object's bytes. */
interface S3Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** The approved action and ARN an executor in local mode declares with its call. */
function declaredCall(request: IncomingMessage): DeclaredCall | undefined {
  const action = request.headers[DECLARED_ACTION_HEADER];
  const resource = request.headers[DECLARED_RESOURCE_HEADER];
  return typeof action === 'string' && typeof resource === 'string' ? { action, resource } : undefined;
}

function respondStandIn(response: ServerResponse, answer: StandInAnswer | S3Answer): void {
  const headers =
    'contentType' in answer
      ? {
          'content-type': answer.contentType,
          ...(answer.standIn ? { [STAND_IN_HEADER]: answer.standIn } : {}),
        }
      : answer.headers;
  response.writeHead(answer.status, { 'x-amzn-requestid': randomUUID(), ...headers });
  response.end(answer.body);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ProtocolError(413, 'RequestEntityTooLarge', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parse(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body || '{}');
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // fall through to the protocol error below
  }
  throw new ProtocolError(400, 'SerializationException', 'request body is not a JSON object');
}

function respond(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': randomUUID() });
  response.end(body);
}

function respondJson(response: ServerResponse, status: number, body: unknown): void {
  respond(response, status, 'application/x-amz-json-1.1', JSON.stringify(body));
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  csv: 'text/csv',
  json: 'application/json',
  txt: 'text/plain',
};

function contentTypeOf(key: string): string {
  return CONTENT_TYPES[key.split('.').at(-1) ?? ''] ?? 'application/octet-stream';
}
