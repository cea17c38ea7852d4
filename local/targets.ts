import * as dynamodb from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sdkOperationFor } from '../lambdas/core/sdk-operations';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';
import {
  decodeEc2Form,
  ec2Error,
  ec2Response,
  filterValues,
  groupXml,
  ipPermissionsOf,
  ruleXml,
  textList,
  type FormValue,
} from './ec2-wire';
import { DynamoDbLocalTables, type ExportableTables } from './exportable-tables';
import { ALLOW_EVERYTHING, isAllowed, SimulationInputError, type PolicyDocument } from './iam-simulator';
import type { LocalSts, MintedSession } from './local-sts';
import type { JsonValue } from '../lambdas/core/audit';
import type { StandInView } from './console/views';
import { CallRecorder, EcsServiceStandIn, SecurityGroupStandIn, STAND_INS } from './stand-ins';
import { TargetError } from './target-error';

/** An answer a stand-in gave: what the gateway sends back, and which stand-in it names. */
export interface StandInAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Absent on a refusal: nothing was simulated. */
  readonly standIn?: string;
}

/** The call an executor in local mode declares it makes: the approved IAM action and ARN. */
export interface DeclaredCall {
  readonly action: string;
  readonly resource: string;
}

/** What the gateway knows of a call's wire form, to answer it in its own protocol. */
export interface WireCall {
  /** From the signature's credential scope. */
  readonly region: string;
  /** The operation the wire names (`X-Amz-Target`'s suffix, or a query `Action`); absent for REST. */
  readonly operation?: string;
  readonly protocol: 'json' | 'query' | 'ec2' | 'rest';
  readonly contentType: string;
  /** The body as text (JSON, form fields). */
  readonly body: string;
  /** The body as sent: an S3 object's bytes. */
  readonly raw: Buffer;
}

const SECURITY_GROUP_CHANGES = new Set([
  'AuthorizeSecurityGroupIngress',
  'AuthorizeSecurityGroupEgress',
  'RevokeSecurityGroupIngress',
  'RevokeSecurityGroupEgress',
]);

/**
 * What an executed action reaches in local mode. Every call must be made with keys the local STS
 * minted, and is authorized by the IAM policy simulator against the execution role's policy and
 * that session's policy before it runs: the same evaluation AWS would make. DynamoDB exports (of
 * DynamoDB Local's tables, or the in-memory ones without Java) land in a folder, laid out as AWS lays them out in S3; S3 objects are read from a folder.
 */
export class LocalTargets {
  /** The in-memory security groups EC2 calls reach. */
  readonly securityGroups = new SecurityGroupStandIn();
  /** The in-memory ECS services ECS calls reach. */
  readonly ecsServices = new EcsServiceStandIn();
  /** Every call no stand-in models, once authorized. */
  readonly recorder = new CallRecorder();

  constructor(
    private readonly sts: LocalSts,
    private readonly tables: ExportableTables,
    private readonly dataDir: string,
    private readonly roleIdentityPolicy: PolicyDocument = ALLOW_EVERYTHING,
  ) {}

  async exportTable(
    accessKeyId: string | undefined,
    body: Record<string, unknown>,
    now: Date,
  ): Promise<unknown> {
    const session = this.sessionOf(accessKeyId);
    const tableArn = String(body.TableArn ?? '');
    const bucket = String(body.S3Bucket ?? '');
    const prefix = String(body.S3Prefix ?? '');
    await this.authorize(session, 'dynamodb:ExportTableToPointInTime', tableArn, now);
    const exportId = `${now.getTime()}-${randomUUID().slice(0, 8)}`;
    const exportRoot = `${prefix}AWSDynamoDB/${exportId}`;
    const dataKey = `${exportRoot}/data/${randomUUID()}.json.gz`;
    await this.authorize(session, 's3:PutObject', `arn:aws:s3:::${bucket}/${dataKey}`, now);

    let lines: string[];
    try {
      const items = await this.tables.scan(tableArn.split('/').at(-1) ?? '');
      lines = items.map((item) => JSON.stringify({ Item: item }));
    } catch (error) {
      throw new TargetError(
        400,
        'TableNotFoundException',
        `table ${tableArn} cannot be exported: ${(error as Error).message}`,
      );
    }
    const data = gzipSync(lines.map((line) => `${line}\n`).join(''));
    const exportArn = `${tableArn}/export/${exportId}`;
    await this.write(bucket, dataKey, data);
    await this.write(
      bucket,
      `${exportRoot}/manifest-files.json`,
      `${JSON.stringify({ itemCount: lines.length, md5Checksum: createHash('md5').update(data).digest('base64'), etag: createHash('md5').update(data).digest('hex'), dataFileS3Key: dataKey })}\n`,
    );
    await this.write(
      bucket,
      `${exportRoot}/manifest-summary.json`,
      JSON.stringify({
        version: '2020-06-30',
        exportArn,
        startTime: now.toISOString(),
        endTime: new Date().toISOString(),
        tableArn,
        exportTime: now.toISOString(),
        s3Bucket: bucket,
        s3Prefix: prefix,
        s3SseAlgorithm: 'AES256',
        manifestFilesS3Key: `${exportRoot}/manifest-files.json`,
        billedSizeBytes: data.length,
        itemCount: lines.length,
        outputFormat: 'DYNAMODB_JSON',
      }),
    );
    return {
      ExportDescription: {
        ExportArn: exportArn,
        ExportStatus: 'COMPLETED',
        TableArn: tableArn,
        S3Bucket: bucket,
        S3Prefix: prefix,
        ExportFormat: 'DYNAMODB_JSON',
        ItemCount: lines.length,
        StartTime: now.getTime() / 1000,
      },
    };
  }

  async getObject(accessKeyId: string | undefined, bucket: string, key: string, now: Date): Promise<Buffer> {
    const session = this.sessionOf(accessKeyId);
    await this.authorize(session, 's3:GetObject', `arn:aws:s3:::${bucket}/${key}`, now);
    try {
      return await readFile(this.pathOf(bucket, key));
    } catch {
      throw new TargetError(404, 'NoSuchKey', 'The specified key does not exist.');
    }
  }

  /**
   * Any DynamoDB action, for real against DynamoDB Local, once the simulator has authorized it on
   * the table the request names (`TableName` or `TableArn`) in the session's account. The wire
   * JSON of DynamoDB is its SDK input, so the body is sent as the command of the same name.
   */
  async dynamodb(
    accessKeyId: string | undefined,
    operation: string,
    body: Record<string, unknown>,
    now: Date,
  ): Promise<unknown> {
    const session = this.sessionOf(accessKeyId);
    const account = /::(\d{12}):/.exec(session.roleArn)?.[1] ?? '000000000000';
    const named = String(body.TableArn ?? body.TableName ?? '');
    const tableArn = named.startsWith('arn:')
      ? named
      : `arn:aws:dynamodb:${LOCAL_REGION}:${account}:table/${named}`;
    const Command = (dynamodb as unknown as Record<string, unknown>)[`${operation}Command`];
    if (!named || typeof Command !== 'function') {
      throw new TargetError(
        400,
        'UnknownOperationException',
        `dynamodb:${operation} on ${named || '(no table)'} is not available in local mode`,
      );
    }
    await this.authorize(session, `dynamodb:${operation}`, tableArn, now);
    if (!(this.tables instanceof DynamoDbLocalTables)) {
      throw new TargetError(
        400,
        'UnknownOperationException',
        `dynamodb:${operation} runs against DynamoDB Local, which needs Java: the tables are in memory in this run`,
      );
    }
    const client = new DynamoDBClient({
      endpoint: this.tables.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const input = { ...body, ...(body.TableArn ? { TableName: tableArn.split('/').at(-1) } : {}) };
      delete (input as { TableArn?: unknown }).TableArn;
      const { $metadata: _metadata, ...output } = (await client.send(
        new (Command as new (input: unknown) => Parameters<DynamoDBClient['send']>[0])(input),
      )) as unknown as Record<string, unknown>;
      return output;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'InternalServerError';
      throw new TargetError(400, name, error instanceof Error ? error.message : String(error));
    } finally {
      client.destroy();
    }
  }

  /**
   * An EC2 query call: security group changes and descriptions are answered by the in-memory
   * stand-in; any other declared call is recorded. Each is authorized first, on the group's ARN
   * (derived from the call, as EC2 does) or on `*` for the Describe calls, which IAM cannot scope.
   */
  async ec2(
    accessKeyId: string | undefined,
    wire: WireCall,
    declared: DeclaredCall | undefined,
    now: Date,
  ): Promise<StandInAnswer> {
    const requestId = randomUUID();
    const action = wire.operation ?? '';
    const xml = (fields: Parameters<typeof ec2Response>[2]): StandInAnswer => ({
      status: 200,
      contentType: 'text/xml',
      body: ec2Response(action, requestId, fields),
      standIn: STAND_INS.securityGroups,
    });
    try {
      const session = this.sessionOf(accessKeyId);
      const fields = decodeEc2Form(new URLSearchParams(wire.body));
      const text = (value: FormValue | undefined) => (typeof value === 'string' ? value : '');
      if (SECURITY_GROUP_CHANGES.has(action)) {
        const groupId = text(fields.GroupId);
        await this.authorize(session, `ec2:${action}`, this.securityGroups.arnOf(groupId), now);
        const egress = action.endsWith('Egress');
        if (action.startsWith('Authorize')) {
          const created = this.securityGroups.authorize(groupId, egress, ipPermissionsOf(fields));
          return xml({
            return: true,
            securityGroupRuleSet: created.map((rule) =>
              ruleXml({ ...rule, groupId, account: accountOf(session) }),
            ),
          });
        }
        const ruleIds = textList(fields.SecurityGroupRuleId);
        this.securityGroups.revoke(groupId, egress, { permissions: ipPermissionsOf(fields), ruleIds });
        return xml({ return: true });
      }
      if (action === 'DescribeSecurityGroups' || action === 'DescribeSecurityGroupRules') {
        await this.authorize(session, `ec2:${action}`, '*', now);
        const groupIds = [...textList(fields.GroupId), ...filterValues(fields, 'group-id')];
        if (action === 'DescribeSecurityGroups') {
          return xml({
            securityGroupInfo: this.securityGroups.describeGroups(groupIds, accountOf(session)).map(groupXml),
          });
        }
        const rules = this.securityGroups.describeRules(
          groupIds,
          textList(fields.SecurityGroupRuleId),
          accountOf(session),
        );
        return xml({ securityGroupRuleSet: rules.map(ruleXml) });
      }
      return await this.record(accessKeyId, wire, declared, now);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      return {
        status: error.status,
        contentType: 'text/xml',
        body: ec2Error(error.code, error.message, requestId),
      };
    }
  }

  /**
   * An ECS call: UpdateService and DescribeServices are answered by the in-memory stand-in, on the
   * service's ARN derived from the call; any other declared call is recorded.
   */
  async ecs(
    accessKeyId: string | undefined,
    wire: WireCall,
    declared: DeclaredCall | undefined,
    now: Date,
  ): Promise<StandInAnswer> {
    const session = this.sessionOf(accessKeyId);
    const body = parseJson(wire.body);
    const json = (value: unknown): StandInAnswer => ({
      status: 200,
      contentType: wire.contentType,
      body: JSON.stringify(value),
      standIn: STAND_INS.ecsServices,
    });
    const account = accountOf(session);
    const cluster = typeof body.cluster === 'string' ? body.cluster : undefined;
    if (wire.operation === 'UpdateService') {
      const serviceArn = this.ecsServices.arnOf(String(body.service ?? ''), cluster, account, wire.region);
      await this.authorize(session, 'ecs:UpdateService', serviceArn, now);
      const service = this.ecsServices.update(serviceArn, {
        ...(typeof body.desiredCount === 'number' ? { desiredCount: body.desiredCount } : {}),
        ...(typeof body.taskDefinition === 'string' ? { taskDefinition: body.taskDefinition } : {}),
      });
      return json({ service });
    }
    if (wire.operation === 'DescribeServices') {
      const names = Array.isArray(body.services) ? body.services.map(String) : [];
      const arns = names.map((name) => this.ecsServices.arnOf(name, cluster, account, wire.region));
      for (const arn of arns) await this.authorize(session, 'ecs:DescribeServices', arn, now);
      return json(this.ecsServices.describe(arns));
    }
    return this.record(accessKeyId, wire, declared, now);
  }

  /**
   * A call no stand-in models: the simulator authorizes the action and ARN the executor declares
   * (the approved ones; with no model of the service there is nothing to derive them from), after
   * checking that the wire names that action's operation where the protocol names one. Then the
   * call is written down and answered with an empty success in its protocol.
   */
  async record(
    accessKeyId: string | undefined,
    wire: WireCall,
    declared: DeclaredCall | undefined,
    now: Date,
  ): Promise<StandInAnswer> {
    const session = this.sessionOf(accessKeyId);
    if (!declared) {
      throw new TargetError(
        400,
        'UnknownOperationException',
        `${wire.operation ?? 'this call'} is not available in local mode`,
      );
    }
    const mapped = sdkOperationFor(declared.action);
    const expected = mapped.ok ? mapped.value.commandClass.replace(/Command$/, '') : undefined;
    if (wire.operation !== undefined && wire.operation !== expected) {
      throw new TargetError(
        400,
        'InvalidAction',
        `the call is ${wire.operation}, not ${declared.action} as declared`,
      );
    }
    await this.authorize(session, declared.action, declared.resource, now);
    this.recorder.record({
      at: now.toISOString(),
      action: declared.action,
      resource: declared.resource,
      roleArn: session.roleArn,
      sessionName: session.sessionName,
      request: wire.body,
    });
    const operation = wire.operation ?? '';
    const requestId = randomUUID();
    const answer = (contentType: string, body: string): StandInAnswer => ({
      status: 200,
      contentType,
      body,
      standIn: STAND_INS.recorder,
    });
    switch (wire.protocol) {
      case 'json':
        return answer(wire.contentType, '{}');
      case 'ec2':
        return answer('text/xml', ec2Response(operation, requestId, {}));
      case 'query':
        return answer(
          'text/xml',
          `<${operation}Response><${operation}Result/><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`,
        );
      case 'rest':
        return wire.contentType.includes('xml')
          ? answer('application/xml', '')
          : answer('application/json', '{}');
    }
  }

  /**
   * S3 calls beyond a plain object read, against the local folder: PutObject, DeleteObject,
   * HeadObject and ListObjectsV2 run for real there; a call on a subresource (`?tagging`,
   * `?policy`, …) has no folder equivalent and is recorded.
   */
  async s3(
    accessKeyId: string | undefined,
    request: { readonly method: string; readonly url: string },
    wire: WireCall,
    declared: DeclaredCall | undefined,
    now: Date,
  ): Promise<
    | StandInAnswer
    | { readonly status: number; readonly headers: Record<string, string>; readonly body: string | Buffer }
  > {
    const url = new URL(request.url, 'http://local');
    const [bucket = '', ...rest] = decodeURIComponent(url.pathname).slice(1).split('/');
    const key = rest.join('/');
    const query = [...url.searchParams.keys()].filter((name) => !name.startsWith('x-id'));
    const session = this.sessionOf(accessKeyId);
    if (key && query.length === 0 && request.method === 'GET') {
      return { status: 200, headers: {}, body: await this.getObject(accessKeyId, bucket, key, now) };
    }
    if (request.method === 'GET' && !key && url.searchParams.get('list-type') === '2') {
      await this.authorize(session, 's3:ListBucket', `arn:aws:s3:::${bucket}`, now);
      const prefix = url.searchParams.get('prefix') ?? '';
      const keys = (await this.keysOf(bucket)).filter((name) => name.startsWith(prefix)).sort();
      const contents = keys.map((name) => `<Contents><Key>${escapeXmlText(name)}</Key></Contents>`).join('');
      return {
        status: 200,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${escapeXmlText(bucket)}</Name><Prefix>${escapeXmlText(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
      };
    }
    if (key && query.length === 0 && request.method === 'PUT') {
      await this.authorize(session, 's3:PutObject', `arn:aws:s3:::${bucket}/${key}`, now);
      await this.write(bucket, key, wire.raw);
      return {
        status: 200,
        headers: { etag: `"${createHash('md5').update(wire.raw).digest('hex')}"` },
        body: '',
      };
    }
    if (key && query.length === 0 && request.method === 'DELETE') {
      await this.authorize(session, 's3:DeleteObject', `arn:aws:s3:::${bucket}/${key}`, now);
      await rm(this.pathOf(bucket, key), { force: true });
      return { status: 204, headers: {}, body: '' };
    }
    if (key && query.length === 0 && request.method === 'HEAD') {
      await this.authorize(session, 's3:GetObject', `arn:aws:s3:::${bucket}/${key}`, now);
      const found = await stat(this.pathOf(bucket, key)).catch(() => undefined);
      if (!found) throw new TargetError(404, 'NotFound', 'Not Found');
      return { status: 200, headers: { 'content-length': String(found.size) }, body: '' };
    }
    return this.record(accessKeyId, wire, declared, now);
  }

  private async keysOf(bucket: string): Promise<string[]> {
    const root = join(this.dataDir, 's3', bucket);
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)).split('\\').join('/'));
  }

  /**
   * What the stand-in that answers `action` holds now of its resource: the security group, the
   * ECS service, or the calls recorded on the resource. Undefined for DynamoDB and S3, which run
   * for real.
   */
  standInState(action: { readonly operation: string; readonly resource: string }): StandInView | undefined {
    const [service] = action.operation.split(':');
    if (service === 'dynamodb' || service === 's3') return undefined;
    const json = (value: unknown): JsonValue => JSON.parse(JSON.stringify(value)) as JsonValue;
    const securityGroup = /:security-group\/(sg-[\w]+)$/.exec(action.resource)?.[1];
    if (service === 'ec2' && securityGroup) {
      try {
        return {
          name: STAND_INS.securityGroups,
          state: json(this.securityGroups.describeGroups([securityGroup])),
        };
      } catch (error) {
        if (!(error instanceof TargetError)) throw error;
      }
    }
    if (service === 'ecs') {
      const { services } = this.ecsServices.describe([action.resource]);
      if (services.length > 0) return { name: STAND_INS.ecsServices, state: json(services) };
    }
    return {
      name: STAND_INS.recorder,
      state: json(this.recorder.calls().filter((call) => call.resource === action.resource)),
    };
  }

  /** Where a local S3 object lives; the sample data is written here. */
  pathOf(bucket: string, key: string): string {
    const path = normalize(join(this.dataDir, 's3', bucket, key));
    if (!path.startsWith(join(this.dataDir, 's3', bucket)))
      throw new TargetError(400, 'InvalidArgument', 'key escapes the bucket');
    return path;
  }

  private async write(bucket: string, key: string, body: Buffer | string): Promise<void> {
    const path = this.pathOf(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
  }

  private sessionOf(accessKeyId: string | undefined): MintedSession {
    const session = accessKeyId ? this.sts.session(accessKeyId) : undefined;
    if (!session) {
      throw new TargetError(
        403,
        'UnrecognizedClientException',
        'only sessions minted by the local STS may call action targets',
      );
    }
    return session;
  }

  private async authorize(
    session: MintedSession,
    action: string,
    resource: string,
    now: Date,
  ): Promise<void> {
    if (now >= session.expiration)
      throw new TargetError(
        400,
        'ExpiredTokenException',
        'The security token included in the request is expired',
      );
    let allowed: boolean;
    try {
      allowed = await isAllowed({
        identityPolicy: this.roleIdentityPolicy,
        ...(session.sessionPolicy ? { sessionPolicy: session.sessionPolicy } : {}),
        action,
        resource,
        currentTime: now,
        account: accountOf(session),
        roleName: session.roleArn.split('/').at(-1) ?? 'ActionApprovalsExecution',
        sessionName: session.sessionName,
      });
    } catch (error) {
      // The simulator cannot judge the call (an unknown action, an ARN of the wrong kind): refused.
      if (!(error instanceof SimulationInputError)) throw error;
      throw new TargetError(400, 'ValidationException', error.message);
    }
    if (!allowed) {
      throw new TargetError(
        403,
        'AccessDeniedException',
        `${session.roleArn}/${session.sessionName} is not authorized to perform ${action} on ${resource}`,
      );
    }
  }
}

/** The account of the role a session was minted for. */
function accountOf(session: MintedSession): string {
  return /::(\d{12}):/.exec(session.roleArn)?.[1] ?? '000000000000';
}

function parseJson(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new TargetError(400, 'SerializationException', 'request body is not a JSON object');
}

const escapeXmlText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
