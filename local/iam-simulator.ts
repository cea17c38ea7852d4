/**
 * IAM authorization for tests and the local runtime, backed by @cloud-copilot/iam-simulate.
 *
 * iam-simulate is AGPL-licensed and a devDependency: import this module from test/, bench/ and
 * local/ only (run from a checkout), never from lambdas/ or lib/, which ship.
 *
 * How the session policy is applied: iam-simulate 0.1.173 takes it natively
 * (`Simulation.sessionPolicy`, although its README still lists session policies as "coming
 * soon"). It evaluates it as STS does for a role session: the identity policies and the session
 * policy must both allow, a session policy that does not allow is an implicit deny, and the
 * principal must be a role, assumed-role or federated-user ARN. That is preferred to the two
 * stand-ins (two simulations that must both allow, or the session policy passed as a permissions
 * boundary): it is one simulation per question instead of two, the library's service-specific
 * rules (KMS key-policy trust, IAM managed-policy protections, S3 Block Public Access) run in the
 * same pass, and it says what it means (the local runtime's authorizer should make the same call).
 *
 * Known gap: AWS does not limit, by the session policy, what a resource policy grants when it names
 * the *session* ARN (`arn:aws:sts::…:assumed-role/Role/session`) as principal. iam-simulate's
 * session-policy input still denies such a request (stricter than AWS), while its permissions
 * boundary input lets it through (as AWS does). Tests here never name the session ARN in a
 * resource policy; the threat model should say that anyone who can write such a resource policy
 * can widen a session.
 */
import { runSimulation, type EvaluationResult } from '@cloud-copilot/iam-simulate';

/** An IAM policy document; its content is validated by iam-simulate, not by this type. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: unknown;
}

export interface AuthorizationQuery {
  /** What the role itself may do, before any session policy narrows it. */
  readonly identityPolicy: PolicyDocument;
  /** The inline policy passed to AssumeRole; omit for a session without one. */
  readonly sessionPolicy?: PolicyDocument;
  /** The resource's own policy (bucket policy, key policy, …); KMS keys need one to trust the account. */
  readonly resourcePolicy?: PolicyDocument;
  /** `service:Action`. */
  readonly action: string;
  /** One concrete ARN. */
  readonly resource: string;
  /** The request's `aws:CurrentTime`. */
  readonly currentTime: Date;
  /**
   * The role's account.
   * @default - the resource ARN's account, or `123456789012` when the ARN has none (S3)
   */
  readonly account?: string;
  /** @default 'ActionApprovalsExecution' */
  readonly roleName?: string;
  /** @default 'session' */
  readonly sessionName?: string;
  /** Request context keys beyond `aws:CurrentTime`, e.g. `iam:PolicyARN` for AttachRolePolicy. */
  readonly context?: Readonly<Record<string, string>>;
}

export type Decision = EvaluationResult;

/** The request could not be simulated: a bad policy, an unknown action, an ARN the action does not accept. */
export class SimulationInputError extends Error {
  public override readonly name = 'SimulationInputError';
  public constructor(
    message: string,
    public readonly details: unknown,
  ) {
    super(message);
  }
}

const DEFAULT_ACCOUNT = '123456789012';

/** A role that may do anything: the session policy is then the only thing that narrows a session. */
export const ALLOW_EVERYTHING: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'AllowEverything', Effect: 'Allow', Action: '*', Resource: '*' }],
};

/**
 * A resource policy that lets the given account do anything, as a KMS key policy's default
 * statement does for its own account. It also makes cross-account requests possible, so a denial
 * can only come from the session policy.
 */
export function trustAccount(account: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TrustAccount',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: '*',
        Resource: '*',
      },
    ],
  };
}

/** The account field of an ARN; empty for S3 buckets and objects. */
export function arnAccount(arn: string): string {
  return arn.split(':')[4] ?? '';
}

/**
 * Evaluates one request made with a role session.
 *
 * @throws SimulationInputError when iam-simulate refuses the input. Never read that as a
 *   denial: a test asserting "denied" would otherwise pass on a typo.
 */
export async function authorize(query: AuthorizationQuery): Promise<Decision> {
  const account = query.account ?? (arnAccount(query.resource) || DEFAULT_ACCOUNT);
  const principal = `arn:aws:sts::${account}:assumed-role/${query.roleName ?? 'ActionApprovalsExecution'}/${query.sessionName ?? 'session'}`;
  const result = await runSimulation(
    {
      request: {
        principal,
        action: query.action,
        // iam-simulate trusts this accountId over the ARN's own, so it is derived from the ARN;
        // resources whose ARN has no account (S3) are taken to be in the role's account.
        resource: { resource: query.resource, accountId: arnAccount(query.resource) || account },
        contextVariables: { ...query.context, 'aws:CurrentTime': query.currentTime.toISOString() },
      },
      identityPolicies: [{ name: 'RoleIdentityPolicy', policy: query.identityPolicy }],
      ...(query.sessionPolicy ? { sessionPolicy: query.sessionPolicy } : {}),
      ...(query.resourcePolicy ? { resourcePolicy: query.resourcePolicy } : {}),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType === 'error') {
    throw new SimulationInputError(
      `iam-simulate refused ${query.action} on ${query.resource}: ${result.errors.message}`,
      result.errors,
    );
  }
  if (result.resultType === 'wildcard') {
    throw new SimulationInputError(
      `resource ${query.resource} contains a wildcard; ask about one resource`,
      result,
    );
  }
  return result.overallResult;
}

export async function isAllowed(query: AuthorizationQuery): Promise<boolean> {
  return (await authorize(query)) === 'Allowed';
}
