import * as z from 'zod';
import { canonicalJson, parametersHash } from './canonical';
import { arnTemplateMatcher } from './arn-template';
import { companionRefusals } from './derived-session';
import { err, ok, type Result } from './result';
import { escapedCodePoint, firstInvisibleCharacter, visiblyEscaped } from './text';
import type { ActionRequest, IamActionInfo, IamReference } from './types';

export { arnTemplateMatcher } from './arn-template';

export const ACTION_REQUESTED = 'Action Requested';
export const AGENT_SOURCE_PREFIX = 'agent.';
// 2-64 characters: the agent id becomes the minted session's STS SourceIdentity, which needs that.
const AGENT_SOURCE = /^agent\.[A-Za-z0-9_-]{2,64}$/;

export const LIMITS = {
  requestIdLength: 80,
  justificationLength: 2_000,
  parametersBytes: 16 * 1024,
  resourceLength: 2_048,
  contextEntries: 20,
  contextKeyLength: 64,
  contextValueLength: 256,
  companions: 5,
  minTtlSeconds: 60,
  maxTtlSeconds: 3_600,
} as const;

/** What could be read off a request that was rejected, so the rejection can still be attributed. */
export interface RejectedRequest {
  readonly reasons: readonly string[];
  readonly requestId?: string;
  readonly agentId?: string;
}

const LINE_BREAKS_AND_TABS: ReadonlySet<string> = new Set(['\n', '\t']);
const PARAMETER_VALUE_BREAKS: ReadonlySet<string> = new Set(['\n', '\r', '\t']);

function invisibleReason(field: string, text: string, allowed?: ReadonlySet<string>): string | undefined {
  const found = firstInvisibleCharacter(text, allowed);
  return found
    ? `${field} contains the invisible or control character ${escapedCodePoint(found.codePoint)} at position ${found.index}`
    : undefined;
}

/**
 * Agent text a reviewer reads as stored: controls, bidirectional overrides and isolates,
 * zero-width and other invisible characters are refused, naming the character, so that what the
 * card shows is exactly what runs (the "Trojan Source" and hidden-text tricks).
 */
const visibleText = (field: string, allowed?: ReadonlySet<string>) =>
  z.string({ error: `${field} must be a string` }).superRefine((text, ctx) => {
    const reason = invisibleReason(field, text, allowed);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });

/**
 * Parameter keys and string values at any depth, with their path. Values may hold line breaks and
 * tabs (a multi-line description or certificate): cards show values as JSON, where they read as
 * `\n`, so they cannot forge a line. Keys may hold none.
 */
function refuseInvisibleParameters(
  parameters: Readonly<Record<string, unknown>>,
  ctx: z.RefinementCtx,
): void {
  const pending: { readonly value: unknown; readonly path: readonly string[] }[] = [
    { value: parameters, path: [] },
  ];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    const where = path.length > 0 ? `parameter ${path.join('.')}` : 'parameters';
    if (typeof value === 'string') {
      const reason = invisibleReason(`the value of ${where}`, value, PARAMETER_VALUE_BREAKS);
      if (reason) ctx.addIssue({ code: 'custom', message: reason, path: [...path] });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, path: [...path, `[${index}]`] }));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const shownKey = visiblyEscaped(key);
        const reason = invisibleReason(`a key of ${where}`, key);
        if (reason) ctx.addIssue({ code: 'custom', message: `${reason} ("${shownKey}")`, path: [...path] });
        pending.push({ value: item, path: [...path, shownKey] });
      }
    }
  }
}

const requestId = z
  .string({ error: 'requestId must be a string' })
  .min(1, 'requestId must not be empty')
  .max(LIMITS.requestIdLength, `requestId must be at most ${LIMITS.requestIdLength} characters`)
  .regex(/^[A-Za-z0-9_-]+$/, 'requestId may contain only letters, digits, "_" and "-"');

const operation = visibleText('operation').pipe(
  z
    .string()
    .regex(
      /^[a-z0-9-]+:[A-Za-z0-9]+$/,
      'operation must be an IAM action name like "dynamodb:ExportTableToPointInTime"',
    ),
);

const resource = visibleText('resource')
  .pipe(z.string().max(LIMITS.resourceLength, `resource must be at most ${LIMITS.resourceLength} characters`))
  .pipe(
    z
      .string()
      .regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$/, 'resource must be an ARN')
      .refine((arn) => !/[*?]/.test(arn), 'resource must name one resource: wildcards are not allowed'),
  );

const companion = z.strictObject(
  { action: operation, resource },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'a companion must be an object') },
);

const companions = z
  .array(companion, { error: 'companions must be an array' })
  .max(LIMITS.companions, `companions may list at most ${LIMITS.companions} permissions`);

const parameters = z
  .record(z.string(), z.unknown(), { error: 'parameters must be an object' })
  .superRefine(refuseInvisibleParameters)
  .refine(
    (params) => Buffer.byteLength(canonicalJson(params), 'utf8') <= LIMITS.parametersBytes,
    `parameters must be at most ${LIMITS.parametersBytes} bytes as canonical JSON`,
  );

// Prose keeps its line breaks and tabs: cards show it under the unverified label, in its own block.
// Length first, then the text check, in one string schema: the JSON schema agents are given (the
// MCP tool's) then carries the limits.
const justification = z
  .string({ error: 'justification must be a string' })
  .min(1, 'justification must not be empty')
  .max(LIMITS.justificationLength, `justification must be at most ${LIMITS.justificationLength} characters`)
  .superRefine((text, ctx) => {
    const reason = invisibleReason('justification', text, LINE_BREAKS_AND_TABS);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });

const context = z
  .record(
    visibleText('context key').pipe(
      z
        .string()
        .max(LIMITS.contextKeyLength, `context keys must be at most ${LIMITS.contextKeyLength} characters`),
    ),
    visibleText('context value').pipe(
      z
        .string()
        .max(
          LIMITS.contextValueLength,
          `context values must be at most ${LIMITS.contextValueLength} characters`,
        ),
    ),
    {
      // A key's own problem is reported with its reason (never as a shape error), and keys are
      // shown escaped in every path.
      error: (issue) => (issue.code === 'invalid_key' ? undefined : 'context must be an object of strings'),
    },
  )
  .refine(
    (entries) => Object.keys(entries).length <= LIMITS.contextEntries,
    `context may have at most ${LIMITS.contextEntries} entries`,
  );

const ttlSeconds = z
  .number({ error: 'ttlSeconds must be a number' })
  .int('ttlSeconds must be a whole number')
  .min(LIMITS.minTtlSeconds, `ttlSeconds must be at least ${LIMITS.minTtlSeconds}`)
  .max(LIMITS.maxTtlSeconds, `ttlSeconds must be at most ${LIMITS.maxTtlSeconds}`);

/**
 * The fields of a request's `detail`, one schema each: other front ends (the MCP server's tool
 * schemas) describe the same contract from these instead of a copy.
 */
export const ACTION_REQUEST_FIELDS = {
  requestId,
  operation,
  resource,
  parameters,
  justification,
  context,
  ttlSeconds,
} as const;

const detailSchema = z.strictObject(
  {
    requestId,
    action: z.strictObject(
      { operation, resource, parameters, companions: companions.optional() },
      { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'action must be an object') },
    ),
    justification,
    context: context.optional(),
    ttlSeconds: ttlSeconds.optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'detail must be an object') },
);

const envelopeSchema = z.object(
  {
    source: z
      .string({ error: 'source is missing' })
      .regex(AGENT_SOURCE, 'source must be "agent.<agentId>" with an id of 2-64 letters, digits, "_" or "-"'),
    'detail-type': z.literal(ACTION_REQUESTED, { error: `detail-type must be "${ACTION_REQUESTED}"` }),
    time: z.iso.datetime({ error: 'time must be an ISO-8601 timestamp' }),
    detail: z.unknown(),
  },
  { error: 'the event must be an EventBridge event object' },
);

function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: string): string[] {
  return issues.map((issue) => {
    // Paths hold keys the agent chose: escaped, so a reason never carries what it refuses.
    const path = [prefix, ...issue.path.map((segment) => visiblyEscaped(String(segment)))]
      .filter(Boolean)
      .join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

function readableIdentifiers(event: unknown): Pick<RejectedRequest, 'requestId' | 'agentId'> {
  if (typeof event !== 'object' || event === null) return {};
  const { source, detail } = event as { source?: unknown; detail?: unknown };
  const agent =
    typeof source === 'string' && AGENT_SOURCE.test(source)
      ? source.slice(AGENT_SOURCE_PREFIX.length)
      : undefined;
  const id =
    typeof detail === 'object' && detail !== null ? (detail as { requestId?: unknown }).requestId : undefined;
  return {
    ...(agent ? { agentId: agent } : {}),
    ...(requestId.safeParse(id).success ? { requestId: id as string } : {}),
  };
}

function checkAgainstIam(info: IamActionInfo | undefined, operationName: string, arn: string): string[] {
  if (!info) return [`action.operation: "${operationName}" is not an IAM action`];
  // An action IAM cannot scope is the policy's to allow or not (@allowUnscopedResource), at evaluation.
  if (info.resourceArnTemplates.length === 0) return [];
  if (!info.resourceArnTemplates.some((template) => arnTemplateMatcher(template).test(arn))) {
    return [`action.resource: "${arn}" is not a resource type that ${info.name} accepts`];
  }
  return [];
}

/**
 * Validates an `Action Requested` EventBridge event. The agent's identity comes from the
 * event's `source`, which IAM on the bus pins to the caller; anything in `detail` is the
 * agent's own claim.
 */
export async function parseActionRequest(
  event: unknown,
  iam: IamReference,
): Promise<Result<ActionRequest, RejectedRequest>> {
  const identifiers = readableIdentifiers(event);
  const envelope = envelopeSchema.safeParse(event);
  const detail = detailSchema.safeParse(
    typeof event === 'object' && event !== null ? (event as { detail?: unknown }).detail : undefined,
  );
  const reasons = [
    ...(envelope.success ? [] : describeIssues(envelope.error.issues, '')),
    ...(detail.success ? [] : describeIssues(detail.error.issues, 'detail')),
  ];
  if (!envelope.success || !detail.success) return err({ reasons, ...identifiers });

  const { action } = detail.data;
  const info = await iam.describeAction(action.operation);
  const checked = await Promise.all(
    (action.companions ?? []).map(async (listed) => ({
      companion: listed,
      info: await iam.describeAction(listed.action),
    })),
  );
  const iamReasons = [
    ...checkAgainstIam(info, action.operation, action.resource),
    ...companionRefusals(checked).map((reason) => `action.companions: ${reason}`),
  ];
  if (!info || iamReasons.length > 0) return err({ reasons: iamReasons, ...identifiers });

  // Canonical action names, so the card, the hash and the session name each permission one way.
  const listed = checked.flatMap(({ companion: { resource: arn }, info: found }) =>
    found ? [{ action: found.name, resource: arn }] : [],
  );
  return ok({
    requestId: detail.data.requestId,
    agentId: envelope.data.source.slice(AGENT_SOURCE_PREFIX.length),
    action: {
      operation: info.name,
      resource: action.resource,
      parameters: action.parameters,
      ...(listed.length > 0 ? { companions: listed } : {}),
    },
    parametersHash: parametersHash(action.parameters, listed),
    justification: detail.data.justification,
    context: detail.data.context ?? {},
    ...(detail.data.ttlSeconds === undefined ? {} : { ttlSeconds: detail.data.ttlSeconds }),
    requestedAt: envelope.data.time,
  });
}
