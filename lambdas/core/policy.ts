import {
  checkParseSchema,
  isAuthorized,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  statefulIsAuthorized,
  validate,
  type Annotations,
  type AuthorizationAnswer,
  type Context,
  type DetailedError,
  type EntityUid,
  type PolicyJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { UNKNOWN_ENVIRONMENT } from './directory';
import { err, ok, type Result } from './result';

/**
 * What a policy decides about one requested action. Semantics and examples: docs/POLICY.md.
 */
export const PolicyOutcome = {
  Deny: 'deny',
  AutoApprove: 'auto-approve',
  RequireApproval: 'require-approval',
} as const;
export type PolicyOutcome = (typeof PolicyOutcome)[keyof typeof PolicyOutcome];

export type PolicyDecision =
  | {
      readonly outcome: 'deny';
      /** A sentence for the agent and the audit trail. */
      readonly reason: string;
      /** The forbid policies that denied, or the policies whose evaluation failed; empty when nothing permitted. */
      readonly policyIds: readonly string[];
    }
  | {
      readonly outcome: 'auto-approve';
      readonly reason: string;
      /** The auto-approve policies that matched. */
      readonly policyIds: readonly string[];
      readonly ttlSeconds: number;
      /** Present when a deciding policy says `@allowUnscopedResource("true")`. */
      readonly allowUnscopedResource?: true;
    }
  | {
      readonly outcome: 'require-approval';
      readonly reason: string;
      /** The require-approval policies that matched; they alone set groups, quorum and ttl. */
      readonly policyIds: readonly string[];
      /** Any member of any of these groups may approve (sorted, distinct). */
      readonly approverGroups: readonly string[];
      /** Distinct approvals needed; at least 1. */
      readonly quorum: number;
      readonly ttlSeconds: number;
      /**
       * Present when a deciding policy says `@allowUnscopedResource("true")`: an action IAM cannot
       * limit to one resource may then run, and every card says so.
       */
      readonly allowUnscopedResource?: true;
    };

export interface PolicyInput {
  /** From the event's source, never from its detail. */
  readonly agentId: string;
  /** Canonical IAM action, e.g. `dynamodb:ExportTableToPointInTime`: Cedar compares strings case-sensitively. */
  readonly operation: string;
  /** From IAM's service reference: `Read`, `List`, `Write`, `Tagging`, `Permissions management`. */
  readonly accessLevels: readonly string[];
  /** ARN of the resource the operation acts on. */
  readonly resource: string;
  /** Derived by the caller from the resource's account (e.g. `production`), never agent-supplied. */
  readonly environment: string;
  /** What the agent asked for; it can shorten the policy's ttl, never lengthen it. */
  readonly requestedTtlSeconds?: number;
}

/** Cedar policy text and the Cedar schema it is validated against. */
export interface PolicySources {
  readonly policies: string;
  readonly schema: string;
}

export interface PolicyEngineConfig extends PolicySources {
  /**
   * How many recent decisions to remember. A decision is a pure function of the input and the
   * loaded policies, so a remembered one is exact; a fresh one costs 50-80 µs in Cedar's wasm build.
   *
   * @default 10_000 - `0` turns remembering off.
   */
  readonly decisionCacheSize?: number;
}

/** Why a policy set was refused; `problems` holds one readable line per problem found. */
export class PolicyLoadError extends Error {
  public override readonly name = 'PolicyLoadError';
  public readonly problems: readonly string[];

  public constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`the policy set cannot be loaded:\n- ${problems.join('\n- ')}`, options);
    this.problems = problems;
  }
}

interface ForbidRule {
  readonly effect: 'forbid';
  readonly id: string;
  readonly reason: string;
}

interface AutoApproveRule {
  readonly effect: 'permit';
  readonly outcome: 'auto-approve';
  readonly id: string;
  readonly reason: string;
  readonly ttlSeconds: number;
  readonly allowUnscopedResource: boolean;
}

interface RequireApprovalRule {
  readonly effect: 'permit';
  readonly outcome: 'require-approval';
  readonly id: string;
  readonly reason: string;
  readonly ttlSeconds: number;
  readonly approverGroups: readonly string[];
  readonly quorum: number;
  readonly allowUnscopedResource: boolean;
}

type PermitRule = AutoApproveRule | RequireApprovalRule;
type Rule = ForbidRule | PermitRule;

// The request shape the schema must describe; load checks it does.
const PRINCIPAL_TYPE = 'Agent';
const RESOURCE_TYPE = 'Resource';
const ACTION = { type: 'Action', id: 'RequestAction' } as const satisfies EntityUid;

// STS's longest role session: an approval cannot usefully outlive it.
const MAX_TTL_SECONDS = 43_200;
const DEFAULT_TTL_SECONDS = { 'auto-approve': 300, 'require-approval': 900 } as const;
const PERMIT_ONLY_ANNOTATIONS = ['outcome', 'approvers', 'quorum', 'ttl', 'allowUnscopedResource'] as const;

const NOTHING_PERMITS = 'no policy permits this action';
const DEFAULT_DECISION_CACHE_SIZE = 10_000;

// preparsePolicySet caches by name in the wasm module's global state; each engine needs its own.
let loadCount = 0;

/**
 * Decides, for one requested action, deny / auto-approve / require-approval from Cedar policies.
 * The policy set is parsed, validated and cached once in `load`; `evaluate` only sends the request.
 */
export class PolicyEngine {
  // Map iteration follows insertion order, so re-inserting on a hit makes the first key the least recently used.
  private readonly decisions = new Map<string, PolicyDecision>();

  private constructor(
    private readonly policySetId: string,
    private readonly rules: ReadonlyMap<string, Rule>,
    private readonly decisionCacheSize: number,
  ) {}

  /**
   * Parses and validates the policies against the schema, and reads their annotations.
   * Fails closed: any problem in either text refuses the whole set, with every problem listed.
   */
  public static load(config: PolicyEngineConfig): Result<PolicyEngine, PolicyLoadError> {
    const cacheSize = config.decisionCacheSize ?? DEFAULT_DECISION_CACHE_SIZE;
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      return fail([`decisionCacheSize ${cacheSize} is not a whole number from 0 up`]);
    }
    try {
      return PolicyEngine.loadOrFail(config, cacheSize);
    } catch (cause) {
      // The wasm bindings throw instead of answering when their JSON bridge rejects input (lone UTF-16 surrogates).
      return err(new PolicyLoadError([`Cedar rejected the input: ${messageOf(cause)}`], { cause }));
    }
  }

  private static loadOrFail(
    sources: PolicySources,
    cacheSize: number,
  ): Result<PolicyEngine, PolicyLoadError> {
    const schemaCheck = checkParseSchema(sources.schema);
    if (schemaCheck.type === 'failure') {
      return fail(schemaCheck.errors.map((e) => `schema: ${formatCedarError(e, sources.schema)}`));
    }
    const parts = policySetTextToParts(sources.policies);
    if (parts.type === 'failure') {
      return fail(parts.errors.map((e) => `policies: ${formatCedarError(e, sources.policies)}`));
    }

    const problems = parts.policy_templates.map(
      (text) =>
        `policies: templates (policies with ?principal or ?resource slots) are not supported: ${snippet(text)}`,
    );
    const rules = new Map<string, Rule>();
    const texts: Record<string, string> = {};
    for (const text of parts.policies) {
      const parsed = policyToJson(text);
      if (parsed.type === 'failure') {
        problems.push(...parsed.errors.map((e) => `policy ${snippet(text)}: ${formatCedarError(e, text)}`));
        continue;
      }
      const rule = readRule(parsed.json, text, problems);
      if (rule === undefined) continue;
      if (rules.has(rule.id)) {
        problems.push(`policy "${rule.id}": @id("${rule.id}") is used by more than one policy`);
        continue;
      }
      rules.set(rule.id, rule);
      texts[rule.id] = text;
    }
    if (problems.length > 0) return fail(problems);

    const validation = validate({
      schema: sources.schema,
      policies: { staticPolicies: texts },
      validationSettings: { mode: 'strict' },
    });
    if (validation.type === 'failure') {
      return fail(validation.errors.map((e) => `policies: ${formatCedarError(e)}`));
    }
    // Warnings fail too: an "impossible" policy is usually a forbid that silently never applies,
    // and confusable or bidi characters make a policy read differently from how it evaluates.
    const findings = [...validation.validationErrors, ...validation.validationWarnings].map(
      ({ policyId, error }) =>
        `policy "${policyId}": ${formatCedarError(error)}${quoteSource(error, texts[policyId])}`,
    );
    if (findings.length > 0) return fail(findings);

    const shapeProblems = checkRequestShape(sources.schema);
    if (shapeProblems.length > 0) return fail(shapeProblems);

    loadCount += 1;
    const policySetId = `action-approvals-${loadCount}`;
    const cached = preparsePolicySet(policySetId, { staticPolicies: texts });
    if (cached.type === 'failure') {
      return fail(cached.errors.map((e) => `policies: ${formatCedarError(e)}`));
    }
    return ok(new PolicyEngine(policySetId, rules, cacheSize));
  }

  /**
   * The longest wait any permit policy grants (its `@ttl`, or the outcome's default) and the
   * policy that grants it; undefined when no policy permits anything. Deployments check it
   * against the workflow's own time limit.
   */
  public longestTtl(): { readonly policyId: string; readonly ttlSeconds: number } | undefined {
    let longest: { readonly policyId: string; readonly ttlSeconds: number } | undefined;
    for (const rule of this.rules.values()) {
      if (rule.effect === 'permit' && (longest === undefined || rule.ttlSeconds > longest.ttlSeconds))
        longest = { policyId: rule.id, ttlSeconds: rule.ttlSeconds };
    }
    return longest;
  }

  /** Never throws: whatever goes wrong is a deny with a reason. */
  public evaluate(input: PolicyInput): PolicyDecision {
    const requested = input.requestedTtlSeconds;
    // Checked before the cache key is built: JSON would write NaN and an absent ttl alike, as null.
    if (requested !== undefined && !isPositiveWholeNumber(requested)) {
      return deny('requested ttl must be a positive whole number of seconds', []);
    }
    if (this.decisionCacheSize === 0) return this.decide(input, requested);

    const key = JSON.stringify([
      input.agentId,
      input.operation,
      input.accessLevels,
      input.resource,
      input.environment,
      requested ?? null,
    ]);
    const remembered = this.decisions.get(key);
    if (remembered !== undefined) {
      this.decisions.delete(key);
      this.decisions.set(key, remembered);
      return remembered;
    }
    const decision = this.decide(input, requested);
    if (this.decisions.size >= this.decisionCacheSize) {
      this.decisions.delete(this.decisions.keys().next().value as string);
    }
    this.decisions.set(key, decision);
    return decision;
  }

  private decide(input: PolicyInput, requested: number | undefined): PolicyDecision {
    let answer: AuthorizationAnswer;
    try {
      answer = this.authorize(input);
    } catch (cause) {
      // The wasm JSON bridge throws instead of answering on strings it cannot carry (lone UTF-16 surrogates).
      return deny(`policy evaluation failed: ${messageOf(cause)}`, []);
    }
    if (answer.type === 'failure') {
      return deny(
        `policy evaluation failed: ${answer.errors.map((e) => formatCedarError(e)).join('; ')}`,
        [],
      );
    }
    const { decision, diagnostics } = answer.response;
    // Cedar skips a policy whose evaluation errs and decides without it; that could drop a forbid.
    if (diagnostics.errors.length > 0) {
      return deny(
        `policy evaluation failed: ${diagnostics.errors.map((e) => `policy "${e.policyId}": ${formatCedarError(e.error)}`).join('; ')}`,
        sortedDistinct(diagnostics.errors.map((e) => e.policyId)),
      );
    }

    const matched = diagnostics.reason.map((id) => this.rules.get(id));
    if (decision === 'deny') {
      const forbids = matched.filter((rule): rule is ForbidRule => rule?.effect === 'forbid');
      if (forbids.length === 0) return deny(NOTHING_PERMITS, []);
      return deny(joinReasons(forbids), forbids.map((rule) => rule.id).sort());
    }
    const permits = matched.filter((rule): rule is PermitRule => rule?.effect === 'permit');
    if (permits.length === 0 || permits.length !== matched.length) {
      return deny(
        `policy evaluation failed: Cedar allowed on unknown policies ${diagnostics.reason.join(', ')}`,
        [],
      );
    }
    const combined = combine(permits, requested);
    // Fails closed whatever the policies say (`environment != "production"`, say): nobody placed
    // the resource, so nobody can vouch that reading it unreviewed is harmless.
    if (combined.outcome === PolicyOutcome.AutoApprove && input.environment === UNKNOWN_ENVIRONMENT) {
      return deny(
        `${joinReasons(permits)}; but the resource's environment is unknown (an S3 bucket the directory does not map), so it is never auto-approved`,
        combined.policyIds,
      );
    }
    return combined;
  }

  private authorize(input: PolicyInput): AuthorizationAnswer {
    const context: Context = {
      operation: input.operation,
      service: serviceOf(input.operation),
      accessLevels: [...input.accessLevels],
      environment: input.environment,
      resourceArn: input.resource,
      resourceArnLowercase: input.resource.toLowerCase(),
    };
    if (input.requestedTtlSeconds !== undefined) context['requestedTtlSeconds'] = input.requestedTtlSeconds;
    // No per-call request validation against the schema: it costs about a third of a decision, and
    // load has already checked that the schema describes exactly this request shape.
    return statefulIsAuthorized({
      principal: { type: PRINCIPAL_TYPE, id: input.agentId },
      action: ACTION,
      resource: { type: RESOURCE_TYPE, id: input.resource },
      context,
      entities: [],
      preparsedPolicySetId: this.policySetId,
    });
  }
}

/**
 * require-approval beats auto-approve; the winning outcome's policies alone set the terms:
 * the largest quorum, the shortest ttl, every group. A requested ttl can only shorten it.
 */
function combine(permits: readonly PermitRule[], requestedTtlSeconds: number | undefined): PolicyDecision {
  const reviewed = permits.filter(
    (rule): rule is RequireApprovalRule => rule.outcome === PolicyOutcome.RequireApproval,
  );
  const deciding: readonly PermitRule[] = reviewed.length > 0 ? reviewed : permits;
  const ttlSeconds = Math.min(...deciding.map((rule) => rule.ttlSeconds), requestedTtlSeconds ?? Infinity);
  const reason = joinReasons(deciding);
  // Frozen because a remembered decision is handed to every caller that asks the same question.
  const policyIds = Object.freeze(deciding.map((rule) => rule.id).sort());
  // The leave is explicit in a policy that decides: its author wrote it for the actions it matches.
  const unscoped = deciding.some((rule) => rule.allowUnscopedResource)
    ? { allowUnscopedResource: true as const }
    : {};
  if (reviewed.length === 0) {
    return Object.freeze({ outcome: PolicyOutcome.AutoApprove, reason, policyIds, ttlSeconds, ...unscoped });
  }
  return Object.freeze({
    outcome: PolicyOutcome.RequireApproval,
    reason,
    policyIds,
    approverGroups: Object.freeze(sortedDistinct(reviewed.flatMap((rule) => rule.approverGroups))),
    quorum: Math.max(...reviewed.map((rule) => rule.quorum)),
    ttlSeconds,
    ...unscoped,
  });
}

/** Reads a policy's annotations into a rule, or records why it cannot and returns undefined. */
function readRule(policy: PolicyJson, text: string, problems: string[]): Rule | undefined {
  const annotations = policy.annotations ?? {};
  const id = annotations['id'];
  if (id === undefined || id.trim() === '') {
    problems.push(`policies: every policy needs a non-empty @id("…"), this one has none: ${snippet(text)}`);
    return undefined;
  }
  const found: string[] = [];
  const rule =
    policy.effect === 'forbid' ? readForbid(id, annotations, found) : readPermit(id, annotations, found);
  problems.push(...found.map((problem) => `policy "${id}": ${problem}`));
  return found.length === 0 ? rule : undefined;
}

function readForbid(id: string, annotations: Annotations, problems: string[]): ForbidRule {
  const misplaced = PERMIT_ONLY_ANNOTATIONS.filter((name) => annotations[name] !== undefined);
  if (misplaced.length > 0) {
    problems.push(
      `a forbid always denies; ${misplaced.map((name) => `@${name}`).join(', ')} only apply to permit policies`,
    );
  }
  return { effect: 'forbid', id, reason: annotations['reason'] ?? `forbidden by policy "${id}"` };
}

function readPermit(id: string, annotations: Annotations, problems: string[]): PermitRule | undefined {
  const outcome = annotations['outcome'];
  if (outcome !== PolicyOutcome.AutoApprove && outcome !== PolicyOutcome.RequireApproval) {
    problems.push(
      outcome === undefined
        ? 'a permit needs @outcome("auto-approve") or @outcome("require-approval")'
        : `@outcome("${outcome}") is not "auto-approve" or "require-approval"`,
    );
    return undefined;
  }
  const reason = annotations['reason'] ?? `permitted by policy "${id}"`;
  const ttlText = annotations['ttl'];
  const ttlSeconds =
    ttlText === undefined ? DEFAULT_TTL_SECONDS[outcome] : parseWholeNumber(ttlText, MAX_TTL_SECONDS);
  if (ttlSeconds === undefined) {
    problems.push(`@ttl("${ttlText}") is not a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  }
  const unscopedText = annotations['allowUnscopedResource'];
  if (unscopedText !== undefined && unscopedText !== 'true') {
    problems.push(
      `@allowUnscopedResource("${unscopedText}") must be "true"; leave it out to keep actions IAM cannot scope refused`,
    );
  }
  const allowUnscopedResource = unscopedText === 'true';

  if (outcome === PolicyOutcome.AutoApprove) {
    const misplaced = (['approvers', 'quorum'] as const).filter((name) => annotations[name] !== undefined);
    if (misplaced.length > 0) {
      problems.push(
        `${misplaced.map((name) => `@${name}`).join(', ')} only apply to @outcome("require-approval")`,
      );
    }
    return ttlSeconds === undefined
      ? undefined
      : { effect: 'permit', outcome, id, reason, ttlSeconds, allowUnscopedResource };
  }

  const approversText = annotations['approvers'];
  const approverGroups = sortedDistinct(approversText?.split(',').map((group) => group.trim()) ?? []);
  if (approversText === undefined) {
    problems.push('@outcome("require-approval") needs @approvers("group[,group…]")');
  } else if (approverGroups.includes('')) {
    problems.push(`@approvers("${approversText}") has an empty group name`);
  }
  const quorumText = annotations['quorum'];
  const quorum = quorumText === undefined ? 1 : parseWholeNumber(quorumText, Number.MAX_SAFE_INTEGER);
  if (quorum === undefined) {
    problems.push(`@quorum("${quorumText}") is not a whole number of approvers from 1 up`);
  }
  return ttlSeconds === undefined || quorum === undefined
    ? undefined
    : { effect: 'permit', outcome, id, reason, ttlSeconds, approverGroups, quorum, allowUnscopedResource };
}

/**
 * Asks Cedar to validate one request of the shape `evaluate` sends, with and without the optional
 * requested ttl, so a schema that does not describe it fails at load rather than at evaluation.
 */
function checkRequestShape(schema: string): string[] {
  const sample: Context = {
    operation: 's3:GetObject',
    service: 's3',
    accessLevels: ['Read'],
    environment: 'development',
    resourceArn: 'arn:aws:s3:::example/key',
    resourceArnLowercase: 'arn:aws:s3:::example/key',
  };
  const problems = new Set<string>();
  for (const context of [sample, { ...sample, requestedTtlSeconds: 60 }]) {
    const answer = isAuthorized({
      principal: { type: PRINCIPAL_TYPE, id: 'agent' },
      action: ACTION,
      resource: { type: RESOURCE_TYPE, id: 'arn:aws:s3:::example/key' },
      context,
      entities: [],
      schema,
      validateRequest: true,
      policies: { staticPolicies: {} },
    });
    if (answer.type === 'failure') {
      for (const e of answer.errors) {
        problems.add(
          `schema: does not describe the request the engine sends (principal ${PRINCIPAL_TYPE}, ` +
            `action Action::"${ACTION.id}", resource ${RESOURCE_TYPE}, context as in docs/POLICY.md): ${formatCedarError(e)}`,
        );
      }
    }
  }
  return [...problems];
}

function fail(problems: readonly string[]): Result<never, PolicyLoadError> {
  return err(new PolicyLoadError(problems));
}

function deny(reason: string, policyIds: readonly string[]): PolicyDecision {
  return Object.freeze({ outcome: PolicyOutcome.Deny, reason, policyIds: Object.freeze([...policyIds]) });
}

/** In policy id order: Cedar reports matching policies in no stable order. */
function joinReasons(rules: readonly Rule[]): string {
  const byId = [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [...new Set(byId.map((rule) => rule.reason))].join('; ');
}

function serviceOf(operation: string): string {
  const colon = operation.indexOf(':');
  return colon === -1 ? operation : operation.slice(0, colon);
}

function isPositiveWholeNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/** Only plain decimal digits: `Number()` would also accept "1e3", " 60 " or "0x10". */
function parseWholeNumber(text: string, max: number): number | undefined {
  if (!/^[1-9][0-9]*$/.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}

function sortedDistinct(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** One line: where (line and column in `source`, when given), what, and Cedar's hints. */
function formatCedarError(error: DetailedError, source?: string): string {
  const location = error.sourceLocations?.[0];
  const labels = (error.sourceLocations ?? []).flatMap((l) => (l.label ? [l.label] : []));
  // Cedar already names the policy in its own words; the caller prefixes every line the same way.
  let text = error.message.replace(/^for policy `[^`]*`, /, '');
  if (labels.length > 0) text += ` (${labels.join('; ')})`;
  if (error.help) text += `; ${error.help}`;
  return location !== undefined && source !== undefined
    ? `${lineAndColumn(source, location.start)}: ${text}`
    : text;
}

/** Cedar's source offsets count UTF-8 bytes. */
function lineAndColumn(source: string, byteOffset: number): string {
  const before = new TextDecoder().decode(new TextEncoder().encode(source).subarray(0, byteOffset));
  const lines = before.split('\n');
  return `line ${lines.length}, column ${(lines.at(-1)?.length ?? 0) + 1}`;
}

/** The policy text an error points at: a policy's own offsets mean nothing in the whole file. */
function quoteSource(error: DetailedError, policyText: string | undefined): string {
  const location = error.sourceLocations?.[0];
  if (location === undefined || policyText === undefined) return '';
  const bytes = new TextEncoder().encode(policyText).subarray(location.start, location.end);
  return ` at ${snippet(new TextDecoder().decode(bytes))}`;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return `"${flat.length > 60 ? `${flat.slice(0, 57)}...` : flat}"`;
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
