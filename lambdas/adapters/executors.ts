import { DynamoDBClient, ExportTableToPointInTimeCommand } from '@aws-sdk/client-dynamodb';
import type { Runtime } from '@aws-sdk/client-lambda';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
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
import type {
  ActionExecutor,
  DeliveryLimits,
  ExecutionFailure,
  ExecutionResult,
  ExecutionSummary,
  SessionCredentials,
} from '../app/ports';

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
 * The S3, IAM and Lambda clients are imported by the action that uses them, so a cold start loads
 * none of them (the function's DynamoDB client is loaded anyway).
 */
export class SdkActionExecutor implements ActionExecutor {
  constructor(private readonly options: SdkActionExecutorOptions) {}

  async run(
    plan: ActionPlan,
    credentials: SessionCredentials,
    limits: DeliveryLimits,
  ): Promise<Result<ExecutionResult, ExecutionFailure>> {
    try {
      return ok(await this.call(plan, credentials, limits));
    } catch (error) {
      return err(failureOf(error, credentials));
    }
  }

  private async call(
    plan: ActionPlan,
    credentials: SessionCredentials,
    limits: DeliveryLimits,
  ): Promise<ExecutionResult> {
    const { defaultRegion, endpoint } = this.options;
    const at = endpoint === undefined ? {} : { endpoint };
    // Only GetObject returns data; the others return metadata, which both audiences may see.
    const metadataOnly = (summary: ExecutionSummary): ExecutionResult => ({
      recorded: summary,
      delivered: summary,
    });
    switch (plan.operation) {
      case 'dynamodb:ExportTableToPointInTime':
        return metadataOnly(await exportTable(plan, { region: plan.target.region, credentials, ...at }));
      case 's3:GetObject':
        return getObject(plan, { region: defaultRegion, credentials, ...at }, limits);
      case 'iam:AttachRolePolicy':
      case 'iam:DetachRolePolicy':
        return metadataOnly(await changeRolePolicy(plan, { region: defaultRegion, credentials, ...at }));
      case 'lambda:UpdateFunctionConfiguration':
        return metadataOnly(
          await updateFunctionConfiguration(plan, { region: plan.target.region, credentials, ...at }),
        );
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
  limits: DeliveryLimits,
): Promise<ExecutionResult> {
  const [{ GetObjectCommand, S3Client }, { getSignedUrl }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/s3-request-presigner'),
  ]);
  const client = new S3Client({
    ...config,
    followRegionRedirects: true,
    forcePathStyle: config.endpoint !== undefined,
  });
  try {
    const object = await client.send(
      new GetObjectCommand({ ...plan.parameters, Bucket: plan.target.bucket, Key: plan.target.key }),
    );
    // The body is read to the end to be digested, and kept nowhere.
    const { sha256, bytes } = object.Body
      ? await digestOf(object.Body)
      : { sha256: createHash('sha256').digest('hex'), bytes: 0 };
    const recorded = compact({
      bucket: plan.target.bucket,
      key: plan.target.key,
      contentType: object.ContentType,
      contentLength: bytes,
      sha256,
      eTag: object.ETag,
      range: object.ContentRange,
    });
    // A URL signed with the session's own credentials: it can do nothing the session could not,
    // and it stops working with the approval or the session, whichever ends first.
    const until = Math.min(limits.notAfter.getTime(), config.credentials.expiration.getTime());
    const expiresIn = Math.max(1, Math.floor((until - limits.now.getTime()) / 1000));
    const url = await getSignedUrl(
      client,
      new GetObjectCommand({
        Bucket: plan.target.bucket,
        Key: plan.target.key,
        ...(plan.parameters.ExpectedBucketOwner
          ? { ExpectedBucketOwner: plan.parameters.ExpectedBucketOwner }
          : {}),
      }),
      { expiresIn, signingDate: limits.now },
    );
    return {
      recorded,
      delivered: {
        ...recorded,
        url,
        urlExpiresAt: new Date(limits.now.getTime() + expiresIn * 1000).toISOString(),
        // Headers the approved call carried; a GET of the URL sends them to read the same bytes.
        ...(plan.parameters.Range || plan.parameters.IfMatch
          ? {
              headers: compact({ Range: plan.parameters.Range, 'If-Match': plan.parameters.IfMatch }),
            }
          : {}),
      },
    };
  } finally {
    client.destroy();
  }
}

/** SHA-256 (hex) and length of the body, streamed: nothing of it is kept. */
async function digestOf(
  body: NonNullable<GetObjectCommandOutput['Body']>,
): Promise<{ sha256: string; bytes: number }> {
  if (!(Symbol.asyncIterator in body)) throw new TypeError('the object body is not a readable stream');
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function changeRolePolicy(
  plan: Plan<'iam:AttachRolePolicy' | 'iam:DetachRolePolicy', RoleTarget, RolePolicyParameters>,
  config: ClientConfig,
): Promise<ExecutionSummary> {
  const { AttachRolePolicyCommand, DetachRolePolicyCommand, IAMClient } = await import('@aws-sdk/client-iam');
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
  const {
    LambdaClient,
    Runtime: runtimes,
    UpdateFunctionConfigurationCommand,
  } = await import('@aws-sdk/client-lambda');
  const { Runtime: runtime, ...rest } = plan.parameters;
  const isRuntime = (value: string): value is Runtime => Object.values<string>(runtimes).includes(value);
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
