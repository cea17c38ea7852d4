import { DynamoDBClient, ExportTableToPointInTimeCommand } from '@aws-sdk/client-dynamodb';
import { AttachRolePolicyCommand, DetachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient, Runtime, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { JsonValue } from '../core/audit';
import type {
  ActionPlan,
  Plan,
  ExportParameters,
  FunctionParameters,
  FunctionTarget,
  GetObjectParameters,
  ObjectTarget,
  RolePolicyParameters,
  RoleTarget,
  TableTarget,
} from '../core/catalog';
import { err, ok, type Result } from '../core/result';
import type { SessionCredentials } from './sts';

/** What an executed call returned, small and JSON-safe: it goes into the audit record and the outcome event. */
export type ExecutionSummary = Readonly<Record<string, JsonValue>>;

/** Why a call failed, as the SDK named it. Never holds credentials. */
export interface ExecutionFailure {
  readonly name: string;
  readonly message: string;
  /** The AWS request id, for a support case or CloudTrail lookup. */
  readonly awsRequestId?: string;
}

/** Makes the one approved call with the session minted for it. */
export interface ActionExecutor {
  run(plan: ActionPlan, credentials: SessionCredentials): Promise<Result<ExecutionSummary, ExecutionFailure>>;
}

/** How much of an object's body a GetObject summary carries. */
export const BODY_PREVIEW_BYTES = 64 * 1024;
const FAILURE_MESSAGE_MAX = 1_000;

export interface SdkActionExecutorOptions {
  /**
   * The region for calls whose ARN names none: S3 objects (the client follows S3's redirect to
   * the bucket's region) and IAM (a global service).
   */
  readonly defaultRegion: string;
  /**
   * Sends every call to this endpoint instead of AWS's: the local runtime's gateway, which
   * authorizes each call against the minted session policy. S3 then uses path-style addresses.
   * @default - AWS's endpoints
   */
  readonly endpoint?: string;
}

/** The client settings of one execution: its session's credentials and nothing cached. */
interface ClientConfig {
  readonly region: string;
  readonly credentials: SessionCredentials;
  readonly endpoint?: string;
}

/**
 * Runs catalog actions with the AWS SDK. Every run builds its own client from the session's
 * credentials and destroys it afterwards, so no credentials outlive the call in a cached client.
 */
export class SdkActionExecutor implements ActionExecutor {
  constructor(private readonly options: SdkActionExecutorOptions) {}

  async run(
    plan: ActionPlan,
    credentials: SessionCredentials,
  ): Promise<Result<ExecutionSummary, ExecutionFailure>> {
    try {
      return ok(await this.call(plan, credentials));
    } catch (error) {
      return err(failureOf(error, credentials));
    }
  }

  private call(plan: ActionPlan, credentials: SessionCredentials): Promise<ExecutionSummary> {
    const { defaultRegion, endpoint } = this.options;
    const at = endpoint === undefined ? {} : { endpoint };
    switch (plan.operation) {
      case 'dynamodb:ExportTableToPointInTime':
        return exportTable(plan, { region: plan.target.region, credentials, ...at });
      case 's3:GetObject':
        return getObject(plan, { region: defaultRegion, credentials, ...at });
      case 'iam:AttachRolePolicy':
      case 'iam:DetachRolePolicy':
        return changeRolePolicy(plan, { region: defaultRegion, credentials, ...at });
      case 'lambda:UpdateFunctionConfiguration':
        return updateFunctionConfiguration(plan, { region: plan.target.region, credentials, ...at });
    }
  }
}

async function exportTable(
  plan: Plan<'dynamodb:ExportTableToPointInTime', TableTarget, ExportParameters>,
  config: ClientConfig,
): Promise<ExecutionSummary> {
  const { ExportTime, IncrementalExportSpecification, ...rest } = plan.parameters;
  const client = new DynamoDBClient(config);
  try {
    const { ExportDescription: description } = await client.send(
      new ExportTableToPointInTimeCommand({
        ...rest,
        TableArn: plan.target.tableArn,
        ClientToken: plan.target.clientToken,
        ...(ExportTime ? { ExportTime: new Date(ExportTime) } : {}),
        ...(IncrementalExportSpecification
          ? {
              IncrementalExportSpecification: {
                ...IncrementalExportSpecification,
                ExportFromTime: new Date(IncrementalExportSpecification.ExportFromTime),
                ExportToTime: new Date(IncrementalExportSpecification.ExportToTime),
              },
            }
          : {}),
      }),
    );
    return compact({
      exportArn: description?.ExportArn,
      exportStatus: description?.ExportStatus,
      exportTime: description?.ExportTime?.toISOString(),
      exportFormat: description?.ExportFormat,
      s3Bucket: description?.S3Bucket ?? plan.parameters.S3Bucket,
      s3Prefix: description?.S3Prefix ?? plan.parameters.S3Prefix,
    });
  } finally {
    client.destroy();
  }
}

async function getObject(
  plan: Plan<'s3:GetObject', ObjectTarget, GetObjectParameters>,
  config: ClientConfig,
): Promise<ExecutionSummary> {
  const client = new S3Client({
    ...config,
    followRegionRedirects: true,
    forcePathStyle: config.endpoint !== undefined,
  });
  try {
    const object = await client.send(
      new GetObjectCommand({ ...plan.parameters, Bucket: plan.target.bucket, Key: plan.target.key }),
    );
    const { bytes, truncated } = object.Body
      ? await readPrefix(object.Body, BODY_PREVIEW_BYTES)
      : { bytes: new Uint8Array(), truncated: false };
    const text = textOf(bytes, object.ContentType, truncated);
    return compact({
      bucket: plan.target.bucket,
      key: plan.target.key,
      contentType: object.ContentType,
      contentLength: object.ContentLength,
      eTag: object.ETag,
      body: text ?? Buffer.from(bytes).toString('base64'),
      bodyEncoding: text === undefined ? 'base64' : 'utf-8',
      truncated,
    });
  } finally {
    client.destroy();
  }
}

/**
 * Reads at most `limit` bytes of the body. Leaving the loop early ends the stream, so the rest of
 * a large object is never downloaded.
 */
async function readPrefix(
  body: NonNullable<GetObjectCommandOutput['Body']>,
  limit: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!(Symbol.asyncIterator in body)) throw new TypeError('the object body is not a readable stream');
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    total += chunk.byteLength;
    if (total > limit) break;
  }
  return { bytes: Buffer.concat(chunks).subarray(0, limit), truncated: total > limit };
}

const TEXTUAL =
  /^(text\/|application\/(json|xml|yaml|x-yaml|x-ndjson|csv|javascript)\b|[^;]*\+(json|xml)\b)/i;

/** The body as text when it says it is text and is valid UTF-8; undefined when it goes out as base64. */
function textOf(bytes: Uint8Array, contentType: string | undefined, truncated: boolean): string | undefined {
  if (!contentType || !TEXTUAL.test(contentType)) return undefined;
  try {
    // `stream` holds back a character the cut split in two instead of calling it invalid.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    return undefined;
  }
}

async function changeRolePolicy(
  plan: Plan<'iam:AttachRolePolicy' | 'iam:DetachRolePolicy', RoleTarget, RolePolicyParameters>,
  config: ClientConfig,
): Promise<ExecutionSummary> {
  const input = { RoleName: plan.target.roleName, PolicyArn: plan.parameters.PolicyArn };
  const client = new IAMClient(config);
  try {
    await client.send(
      plan.operation === 'iam:AttachRolePolicy'
        ? new AttachRolePolicyCommand(input)
        : new DetachRolePolicyCommand(input),
    );
    return {
      roleName: plan.target.roleName,
      policyArn: plan.parameters.PolicyArn,
      change: plan.operation === 'iam:AttachRolePolicy' ? 'attached' : 'detached',
    };
  } finally {
    client.destroy();
  }
}

async function updateFunctionConfiguration(
  plan: Plan<'lambda:UpdateFunctionConfiguration', FunctionTarget, FunctionParameters>,
  config: ClientConfig,
): Promise<ExecutionSummary> {
  const { Runtime: runtime, ...rest } = plan.parameters;
  if (runtime !== undefined && !isRuntime(runtime)) {
    throw new TypeError(`${runtime} is not a Lambda runtime this SDK knows`);
  }
  const client = new LambdaClient(config);
  try {
    const updated = await client.send(
      new UpdateFunctionConfigurationCommand({
        ...rest,
        ...(runtime === undefined ? {} : { Runtime: runtime }),
        FunctionName: plan.target.functionArn,
      }),
    );
    const changed = Object.keys(plan.parameters).filter((key) => key !== 'RevisionId');
    return compact({
      functionArn: updated.FunctionArn ?? plan.target.functionArn,
      changed,
      // Environment values are often secrets: the summary names the variables, never their values.
      ...(plan.parameters.Environment
        ? { environmentVariables: Object.keys(plan.parameters.Environment.Variables) }
        : {}),
      lastUpdateStatus: updated.LastUpdateStatus,
      state: updated.State,
      revisionId: updated.RevisionId,
    });
  } finally {
    client.destroy();
  }
}

const RUNTIMES: ReadonlySet<string> = new Set(Object.values(Runtime));
const isRuntime = (value: string): value is Runtime => RUNTIMES.has(value);

/** Drops absent fields: a summary holds JSON values only. */
function compact(fields: Readonly<Record<string, JsonValue | undefined>>): ExecutionSummary {
  return Object.fromEntries(
    Object.entries(fields).filter((field): field is [string, JsonValue] => field[1] !== undefined),
  );
}

export function failureOf(error: unknown, credentials: SessionCredentials): ExecutionFailure {
  const name = error instanceof Error ? error.name : 'Error';
  // No AWS error message is known to echo a secret key or session token; this makes sure of it.
  const message = (error instanceof Error ? error.message : String(error))
    .split(credentials.secretAccessKey)
    .join('[redacted]')
    .split(credentials.sessionToken)
    .join('[redacted]')
    .slice(0, FAILURE_MESSAGE_MAX);
  const awsRequestId = (error as { $metadata?: { requestId?: unknown } } | undefined)?.$metadata?.requestId;
  return { name, message, ...(typeof awsRequestId === 'string' ? { awsRequestId } : {}) };
}
