import { err, ok, type Result } from './result';

/**
 * STS refuses an inline session policy (`AssumeRole`'s `Policy`) whose plaintext is longer than
 * this. STS also packs the policy with the session tags into a binary form with its own,
 * undisclosed limit (`PackedPolicyTooLarge`), so staying under this is necessary, not sufficient.
 */
export const STS_SESSION_POLICY_MAX_CHARS = 2048;

/** The Sid of the statement that grants the approved call; stable so audits and tests can find it. */
export const APPROVED_ACTION_SID = 'ApprovedAction';

/**
 * Extra permissions the approved call needs to succeed, e.g. the S3 prefix an export writes to
 * (`s3:PutObject` on `arn:aws:s3:::bucket/exports/req-1/*`). Chosen by the approval policy, never
 * by the agent, which is why their resources may use wildcards and the primary resource may not.
 */
export interface CompanionStatement {
  /** Alphanumeric; defaults to `Companion<n>` with n its 1-based position in `companions`. */
  readonly sid?: string;
  /** IAM action names without wildcards. */
  readonly actions: readonly string[];
  /** ARNs; wildcards allowed. */
  readonly resources: readonly string[];
}

export interface SessionPolicyInput {
  /** The approved IAM action, e.g. `dynamodb:ExportTableToPointInTime`. */
  readonly operation: string;
  /** The approved resource: one concrete ARN. */
  readonly resource: string;
  /**
   * The approval's expiry. A string must be ISO 8601 with a time zone. The policy carries it
   * truncated to the whole second (the form IAM documents), so the session may stop working up
   * to 999 ms early, never late.
   */
  readonly notAfter: Date | string;
  readonly companions?: readonly CompanionStatement[];
  /**
   * Narrows the approved call by what it is called with, where IAM has a condition key for it:
   * e.g. `{ ArnEquals: { 'iam:PolicyARN': '<the approved policy>' } }`, so an approved
   * AttachRolePolicy can attach that one policy. Chosen by the action catalog, never the agent.
   */
  readonly approvedCallConditions?: ApprovedCallConditions;
  /**
   * The action has no resource-level permission, so IAM can only allow it on `*`: set only when
   * an approval policy said so with `@allowUnscopedResource("true")`. `resource` is still checked,
   * because it is what the card and the receipt name.
   */
  readonly anyResource?: boolean;
}

/** Condition operators that can only narrow the approved call further. */
export type ApprovedCallConditions = Readonly<
  Partial<Record<'ArnEquals' | 'StringEquals', Readonly<Record<string, string>>>>
>;

export interface ExpiryCondition {
  readonly DateLessThan: { readonly 'aws:CurrentTime': string };
}

export interface ApprovedActionStatement {
  readonly Sid: typeof APPROVED_ACTION_SID;
  readonly Effect: 'Allow';
  readonly Action: string;
  readonly Resource: string;
  readonly Condition: ExpiryCondition & ApprovedCallConditions;
}

export interface CompanionPolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition: ExpiryCondition;
}

export type SessionPolicyStatement = ApprovedActionStatement | CompanionPolicyStatement;

/** An IAM policy document for STS `AssumeRole`'s `Policy` parameter. */
export interface SessionPolicyDocument {
  readonly Version: '2012-10-17';
  /** The approved call always comes first. */
  readonly Statement: readonly [ApprovedActionStatement, ...CompanionPolicyStatement[]];
}

export const SessionPolicyRefusal = {
  MalformedAction: 'malformed-action',
  WildcardAction: 'wildcard-action',
  MalformedResource: 'malformed-resource',
  WildcardResource: 'wildcard-resource',
  InvalidNotAfter: 'invalid-not-after',
  EmptyCompanion: 'empty-companion',
  InvalidSid: 'invalid-sid',
  InvalidCharacters: 'invalid-characters',
  TooLarge: 'too-large',
} as const;
export type SessionPolicyRefusal = (typeof SessionPolicyRefusal)[keyof typeof SessionPolicyRefusal];

export interface SessionPolicyError {
  readonly reason: SessionPolicyRefusal;
  readonly message: string;
}

// Service prefixes are lowercase in IAM's reference but matched case-insensitively, so either
// case is accepted. One real action has a hyphen (vpc-lattice:AssociateViaAWSService-EventsAndStates).
const ACTION_NAME = /^[A-Za-z0-9-]+:[A-Za-z0-9][A-Za-z0-9-]*$/;
// arn:partition:service:region:account:resource. The account may be empty (S3) or `aws`.
const ARN = /^arn:[a-z][a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[^:]*:.+$/;
const SID = /^[A-Za-z0-9]+$/;
const ISO_8601_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
// STS's documented character set for `Policy` is \u0009, \u000A, \u000D and \u0020-\u00FF;
// inputs have no business carrying tabs or line breaks.
const POLICY_TEXT = /^[\u0020-\u00FF]*$/;
const WILDCARD = /[*?]/;

/**
 * Builds the session policy that lets a minted session make exactly the approved call (plus its
 * companions) until `notAfter`, and nothing else.
 *
 * Every statement carries `DateLessThan aws:CurrentTime`: an STS session lives at least 900 s
 * and cannot be revoked on its own, so the policy itself must stop working at the approval's
 * expiry.
 */
export function buildSessionPolicy(
  input: SessionPolicyInput,
): Result<SessionPolicyDocument, SessionPolicyError> {
  const operationError = checkAction(input.operation, 'operation');
  if (operationError) return err(operationError);

  const resourceError = checkPrimaryResource(input.resource);
  if (resourceError) return err(resourceError);

  const expiry = expiryTimestamp(input.notAfter);
  if (!expiry.ok) return expiry;

  const Condition: ExpiryCondition = { DateLessThan: { 'aws:CurrentTime': expiry.value } };
  const companions: CompanionPolicyStatement[] = [];
  const sids = new Set<string>([APPROVED_ACTION_SID]);
  for (const [index, companion] of (input.companions ?? []).entries()) {
    const statement = companionStatement(companion, index, Condition, sids);
    if (!statement.ok) return statement;
    sids.add(statement.value.Sid);
    companions.push(statement.value);
  }

  const document: SessionPolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: APPROVED_ACTION_SID,
        Effect: 'Allow',
        Action: input.operation,
        Resource: input.anyResource === true ? '*' : input.resource,
        // The expiry goes last so no supplied condition can replace it.
        Condition: { ...input.approvedCallConditions, ...Condition },
      },
      ...companions,
    ],
  };

  const size = serializeSessionPolicy(document).length;
  if (size > STS_SESSION_POLICY_MAX_CHARS) {
    return err({
      reason: SessionPolicyRefusal.TooLarge,
      message: `session policy is ${size} characters; STS accepts at most ${STS_SESSION_POLICY_MAX_CHARS}`,
    });
  }
  return ok(document);
}

/**
 * The exact text to pass as `AssumeRole`'s `Policy`: compact, because STS counts whitespace
 * against the limit, and in a fixed key order, so the same approval always yields the same text.
 */
export function serializeSessionPolicy(document: SessionPolicyDocument): string {
  return JSON.stringify(document);
}

function checkAction(action: string, what: string): SessionPolicyError | undefined {
  if (!POLICY_TEXT.test(action)) {
    return {
      reason: SessionPolicyRefusal.InvalidCharacters,
      message: `${what} ${JSON.stringify(action)} has characters STS does not accept`,
    };
  }
  // Checked before the shape so that `s3:Get*` is reported as what it is, not as a typo.
  if (WILDCARD.test(action)) {
    return {
      reason: SessionPolicyRefusal.WildcardAction,
      message: `${what} ${JSON.stringify(action)} contains a wildcard`,
    };
  }
  if (!ACTION_NAME.test(action)) {
    return {
      reason: SessionPolicyRefusal.MalformedAction,
      message: `${what} ${JSON.stringify(action)} is not an IAM action name (service:Action)`,
    };
  }
  return undefined;
}

function checkPrimaryResource(resource: string): SessionPolicyError | undefined {
  if (!POLICY_TEXT.test(resource)) {
    return {
      reason: SessionPolicyRefusal.InvalidCharacters,
      message: `resource ${JSON.stringify(resource)} has characters STS does not accept`,
    };
  }
  if (WILDCARD.test(resource)) {
    return {
      reason: SessionPolicyRefusal.WildcardResource,
      message: `resource ${JSON.stringify(resource)} contains a wildcard`,
    };
  }
  if (!ARN.test(resource)) {
    return {
      reason: SessionPolicyRefusal.MalformedResource,
      message: `resource ${JSON.stringify(resource)} is not an ARN`,
    };
  }
  // IAM reads `${…}` as a policy variable, so the statement would match whatever the variable
  // resolves to rather than the approved resource.
  if (resource.includes('${')) {
    return {
      reason: SessionPolicyRefusal.MalformedResource,
      message: `resource ${JSON.stringify(resource)} contains a policy variable`,
    };
  }
  return undefined;
}

function expiryTimestamp(notAfter: Date | string): Result<string, SessionPolicyError> {
  if (typeof notAfter === 'string' && !ISO_8601_WITH_ZONE.test(notAfter)) {
    return err({
      reason: SessionPolicyRefusal.InvalidNotAfter,
      message: `notAfter ${JSON.stringify(notAfter)} is not an ISO 8601 timestamp with a time zone`,
    });
  }
  const millis = new Date(notAfter).getTime();
  if (Number.isNaN(millis)) {
    return err({ reason: SessionPolicyRefusal.InvalidNotAfter, message: 'notAfter is not a valid date' });
  }
  // Truncating (not rounding) keeps the error on the safe side: early, never late.
  const wholeSecond = new Date(Math.floor(millis / 1000) * 1000);
  return ok(wholeSecond.toISOString().replace('.000Z', 'Z'));
}

function companionStatement(
  companion: CompanionStatement,
  index: number,
  Condition: ExpiryCondition,
  takenSids: ReadonlySet<string>,
): Result<CompanionPolicyStatement, SessionPolicyError> {
  const Sid = companion.sid ?? `Companion${index + 1}`;
  const where = `companion ${Sid}`;
  if (!SID.test(Sid)) {
    return err({
      reason: SessionPolicyRefusal.InvalidSid,
      message: `${where}: a Sid may only hold letters and digits`,
    });
  }
  if (takenSids.has(Sid)) {
    return err({
      reason: SessionPolicyRefusal.InvalidSid,
      message: `${where}: the Sid is already used in this policy`,
    });
  }
  // IAM rejects a statement with an empty Action or Resource; refusing here names the culprit.
  if (companion.actions.length === 0 || companion.resources.length === 0) {
    return err({
      reason: SessionPolicyRefusal.EmptyCompanion,
      message: `${where} needs at least one action and one resource`,
    });
  }
  for (const action of companion.actions) {
    const actionError = checkAction(action, `${where}: action`);
    if (actionError) return err(actionError);
  }
  for (const resource of companion.resources) {
    if (!POLICY_TEXT.test(resource)) {
      return err({
        reason: SessionPolicyRefusal.InvalidCharacters,
        message: `${where}: resource ${JSON.stringify(resource)} has characters STS does not accept`,
      });
    }
    // A bare `*` is not an ARN, so this also refuses "everything" as a companion resource.
    if (!ARN.test(resource)) {
      return err({
        reason: SessionPolicyRefusal.MalformedResource,
        message: `${where}: resource ${JSON.stringify(resource)} is not an ARN`,
      });
    }
  }
  return ok({
    Sid,
    Effect: 'Allow',
    Action: [...companion.actions],
    Resource: [...companion.resources],
    Condition,
  });
}
