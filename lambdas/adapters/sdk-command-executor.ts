import { createHash } from 'node:crypto';
import type { JsonValue } from '../core/audit';
import { canonicalJson } from '../core/canonical';
import { err, ok, type Result } from '../core/result';
import type { SdkOperation } from '../core/sdk-operations';
import type {
  ExecutionFailure,
  ExecutionResult,
  GenericExecutor,
  SdkCall,
  SessionCredentials,
} from '../app/ports';
import { failureOf } from './executors';

/** A client package's exports, as far as the executor uses them. */
export type ClientModule = Readonly<Record<string, unknown>>;

/**
 * One loader per shipped client package. Each `import()` names its package literally, so esbuild
 * bundles the package but evaluates it only when the loader runs: a cold start pays for the one
 * client its action needs, whatever the size of the set.
 */
export const CLIENT_LOADERS: Readonly<Record<string, () => Promise<ClientModule>>> = {
  '@aws-sdk/client-auto-scaling': () => import('@aws-sdk/client-auto-scaling'),
  '@aws-sdk/client-cloudformation': () => import('@aws-sdk/client-cloudformation'),
  '@aws-sdk/client-cloudwatch': () => import('@aws-sdk/client-cloudwatch'),
  '@aws-sdk/client-cloudwatch-logs': () => import('@aws-sdk/client-cloudwatch-logs'),
  '@aws-sdk/client-dynamodb': () => import('@aws-sdk/client-dynamodb'),
  '@aws-sdk/client-ec2': () => import('@aws-sdk/client-ec2'),
  '@aws-sdk/client-ecr': () => import('@aws-sdk/client-ecr'),
  '@aws-sdk/client-ecs': () => import('@aws-sdk/client-ecs'),
  '@aws-sdk/client-eks': () => import('@aws-sdk/client-eks'),
  '@aws-sdk/client-elastic-load-balancing-v2': () => import('@aws-sdk/client-elastic-load-balancing-v2'),
  '@aws-sdk/client-eventbridge': () => import('@aws-sdk/client-eventbridge'),
  '@aws-sdk/client-iam': () => import('@aws-sdk/client-iam'),
  '@aws-sdk/client-kms': () => import('@aws-sdk/client-kms'),
  '@aws-sdk/client-lambda': () => import('@aws-sdk/client-lambda'),
  '@aws-sdk/client-rds': () => import('@aws-sdk/client-rds'),
  '@aws-sdk/client-route-53': () => import('@aws-sdk/client-route-53'),
  '@aws-sdk/client-s3': () => import('@aws-sdk/client-s3'),
  '@aws-sdk/client-secrets-manager': () => import('@aws-sdk/client-secrets-manager'),
  '@aws-sdk/client-sfn': () => import('@aws-sdk/client-sfn'),
  '@aws-sdk/client-sns': () => import('@aws-sdk/client-sns'),
  '@aws-sdk/client-sqs': () => import('@aws-sdk/client-sqs'),
  '@aws-sdk/client-ssm': () => import('@aws-sdk/client-ssm'),
};

/** Step Functions carries at most 256 KB of state; an output that could crowd it out stays out. */
export const OUTPUT_INLINE_MAX_BYTES = 64 * 1024;
/** How much of a streamed body (S3 GetObject) the output carries: as base64 it stays inline. */
export const STREAM_PREVIEW_BYTES = 32 * 1024;

export interface SdkCommandExecutorOptions {
  /** The region for an ARN that names none and a service with no home region. */
  readonly defaultRegion: string;
  /**
   * Sends every call to this endpoint instead of AWS's (the local runtime's gateway); S3 then
   * uses path-style addresses.
   * @default - AWS's endpoints
   */
  readonly endpoint?: string;
  /** @default CLIENT_LOADERS */
  readonly loaders?: Readonly<Record<string, () => Promise<ClientModule>>>;
  /**
   * Reads the local gateway's `STAND_IN_HEADER`, so a call a local stand-in answered ends
   * `simulated`. Honoured only together with `endpoint`: an executor that talks to AWS never
   * reports a simulation, whatever a response carries. @default false
   */
  readonly acceptStandInAnswers?: boolean;
}

/**
 * The response header with which the local runtime's gateway says that a stand-in (an in-memory
 * model of the service, or a recorder) answered the call instead of the service.
 */
export const STAND_IN_HEADER = 'x-action-approvals-stand-in';

/**
 * The request headers with which an executor in local mode declares the approved IAM action and
 * ARN of its call, for the gateway to authorize a call of a service it has no model of.
 */
export const DECLARED_ACTION_HEADER = 'x-action-approvals-action';
export const DECLARED_RESOURCE_HEADER = 'x-action-approvals-resource';

/** The raw HTTP response a deserialize-step middleware sees. */
interface RawResponse {
  readonly headers?: Readonly<Record<string, string | undefined>>;
}
type DeserializeNext = (args: unknown) => Promise<{ readonly response: unknown; readonly output: unknown }>;
/** The HTTP request a build-step middleware sees. */
interface BuildArgs {
  readonly request: { headers?: Record<string, string> };
}
type BuildNext = (args: BuildArgs) => Promise<unknown>;

interface SdkClient {
  send(command: unknown): Promise<unknown>;
  destroy(): void;
  readonly middlewareStack: {
    add(
      middleware: (next: DeserializeNext) => DeserializeNext,
      options: { readonly step: 'deserialize'; readonly name: string },
    ): void;
    add(
      middleware: (next: BuildNext) => BuildNext,
      options: { readonly step: 'build'; readonly name: string },
    ): void;
  };
}
type ClientConstructor = new (config: Readonly<Record<string, unknown>>) => SdkClient;
type CommandConstructor = new (input: Readonly<Record<string, unknown>>) => unknown;

/**
 * Runs any mapped IAM action as its SDK command with the session minted for it. Every call builds
 * its own client from the session's credentials and destroys it afterwards, so no credentials
 * outlive the call in a cached client.
 */
export class SdkCommandExecutor implements GenericExecutor {
  private readonly loaders: Readonly<Record<string, () => Promise<ClientModule>>>;

  constructor(private readonly options: SdkCommandExecutorOptions) {
    this.loaders = options.loaders ?? CLIENT_LOADERS;
  }

  async run(
    call: SdkCall,
    credentials: SessionCredentials,
  ): Promise<Result<ExecutionResult, ExecutionFailure>> {
    try {
      const { Client, Command } = await this.classesOf(call.operation);
      const { endpoint } = this.options;
      const isS3 = call.operation.packageName === '@aws-sdk/client-s3';
      const client = new Client({
        region: regionOf(call.resource) ?? call.operation.globalRegion ?? this.options.defaultRegion,
        credentials,
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(isS3 ? { followRegionRedirects: true, forcePathStyle: endpoint !== undefined } : {}),
      });
      let standIn: string | undefined;
      if (endpoint !== undefined && this.options.acceptStandInAnswers === true) {
        client.middlewareStack.add(
          (next) => async (args) => {
            const headers = args.request.headers;
            if (headers) {
              headers[DECLARED_ACTION_HEADER] = call.operation.iamAction;
              headers[DECLARED_RESOURCE_HEADER] = call.resource;
            }
            return next(args);
          },
          { step: 'build', name: 'actionApprovalsDeclaredCall' },
        );
        client.middlewareStack.add(
          (next) => async (args) => {
            const answered = await next(args);
            standIn = (answered.response as RawResponse).headers?.[STAND_IN_HEADER] ?? standIn;
            return answered;
          },
          { step: 'deserialize', name: 'actionApprovalsStandIn' },
        );
      }
      try {
        const response = await client.send(new Command(call.parameters));
        const result = await resultOf(call, response);
        return ok(standIn === undefined ? result : { ...result, simulated: { standIn } });
      } finally {
        client.destroy();
      }
    } catch (error) {
      return err(failureOf(error, credentials));
    }
  }

  private async classesOf(
    operation: SdkOperation,
  ): Promise<{ readonly Client: ClientConstructor; readonly Command: CommandConstructor }> {
    const load = this.loaders[operation.packageName];
    if (!load) throw new TypeError(`no loader for ${operation.packageName}`);
    const module = await load();
    const Client = module[operation.clientClass];
    const Command = module[operation.commandClass];
    if (typeof Client !== 'function' || typeof Command !== 'function') {
      throw new TypeError(
        `${operation.packageName} exports no ${typeof Client === 'function' ? operation.commandClass : operation.clientClass}`,
      );
    }
    return { Client: Client as ClientConstructor, Command: Command as CommandConstructor };
  }
}

/** The region an ARN names, if any (`arn:aws:s3:::bucket` names none). */
export function regionOf(arn: string): string | undefined {
  const region = arn.split(':')[3];
  return region ? region : undefined;
}

/**
 * The audit records what was returned by its digest, size and type, never its content; the agent
 * receives the response itself on its outcome when it is small enough to travel inline, and
 * otherwise its digest and the reason it was withheld.
 */
async function resultOf(call: SdkCall, response: unknown): Promise<ExecutionResult> {
  const { $metadata: metadata, ...fields } = (response ?? {}) as {
    $metadata?: { httpStatusCode?: number; requestId?: string };
  } & Record<string, unknown>;
  const output = await jsonSafe(fields);
  const text = canonicalJson(output);
  const bytes = Buffer.byteLength(text, 'utf8');
  const described = {
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    bytes,
    contentType: 'application/json',
  };
  const made = {
    operation: call.operation.iamAction,
    command: call.operation.commandClass,
    ...(metadata?.httpStatusCode === undefined ? {} : { httpStatusCode: metadata.httpStatusCode }),
    ...(metadata?.requestId === undefined ? {} : { awsRequestId: metadata.requestId }),
  };
  const inline = bytes <= OUTPUT_INLINE_MAX_BYTES;
  return {
    recorded: { ...made, output: described },
    delivered: inline
      ? { ...made, output }
      : {
          ...made,
          output: {
            ...described,
            withheld: `larger than the ${OUTPUT_INLINE_MAX_BYTES} bytes an outcome carries inline`,
          },
        },
  };
}

/**
 * The response as JSON: dates as ISO 8601, bytes and streamed bodies as base64 (a body cut at
 * `STREAM_PREVIEW_BYTES` says so), absent fields dropped.
 */
async function jsonSafe(value: unknown): Promise<JsonValue> {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return Promise.all(value.map(jsonSafe));
  if (typeof value === 'object' && Symbol.asyncIterator in value) {
    return streamPrefix(value as AsyncIterable<Uint8Array>);
  }
  if (typeof value === 'object') {
    const entries: [string, JsonValue][] = [];
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined && typeof item !== 'function') entries.push([key, await jsonSafe(item)]);
    }
    return Object.fromEntries(entries);
  }
  return null;
}

/** Reads at most `STREAM_PREVIEW_BYTES`; leaving the loop early ends the stream. */
async function streamPrefix(stream: AsyncIterable<Uint8Array>): Promise<JsonValue> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    total += chunk.byteLength;
    if (total > STREAM_PREVIEW_BYTES) break;
  }
  const bytes = Buffer.concat(chunks).subarray(0, STREAM_PREVIEW_BYTES);
  return { base64: bytes.toString('base64'), truncated: total > STREAM_PREVIEW_BYTES };
}
