import * as z from 'zod';
import { sameIdentity } from './identity';
import { err, ok, type Result } from './result';

/**
 * Who is who: the agents allowed to ask (and the people who own them), the reviewers allowed to
 * answer (and how each chat identity maps to them), and which accounts are production. Chat
 * display names are never trusted; only these mappings are.
 */
const directorySchema = z.strictObject({
  agents: z.record(
    z
      .string()
      .regex(
        /^[A-Za-z0-9_-]{2,64}$/,
        'agent ids are 2-64 letters, digits, "_" or "-" (an STS SourceIdentity)',
      ),
    z.strictObject({
      /** E-mail addresses, reviewer ids or chat / IAM identities: each resolves to every identity its reviewer has. */
      owners: z.array(z.string().min(1)),
      description: z.string().optional(),
      /**
       * The IAM roles or principals the agent runs as: none of them can ever approve its requests,
       * and the status API knows the agent by them.
       */
      iamPrincipalArns: z.array(z.string().min(1)).optional(),
    }),
  ),
  reviewers: z.array(
    z.strictObject({
      /** The identity recorded in the audit trail: an e-mail address or IAM principal ARN. */
      id: z.string().min(1),
      groups: z.array(z.string().min(1)).min(1),
      slackUserId: z.string().optional(),
      teamsAadObjectId: z.string().optional(),
      iamPrincipalArns: z.array(z.string()).optional(),
    }),
  ),
  environments: z.strictObject({
    accounts: z.record(z.string().regex(/^\d{12}$/), z.string().min(1)),
    /**
     * S3 bucket ARNs name no account, so buckets are placed by name, and only here: an unmapped
     * bucket's environment is `unknown`.
     */
    buckets: z.record(z.string().min(3), z.string().min(1)).optional(),
    /** Applies to accounts not listed; keep it 'production' so unknown means strict. */
    default: z.string().min(1),
  }),
});

/**
 * The environment of a resource nobody placed (an unmapped bucket, an ARN naming no account).
 * No policy may auto-approve in it: `PolicyEngine` refuses to, whatever the policies say.
 */
export const UNKNOWN_ENVIRONMENT = 'unknown';

export type DirectoryConfig = z.infer<typeof directorySchema>;
export type Reviewer = DirectoryConfig['reviewers'][number];

export class Directory {
  private constructor(private readonly config: DirectoryConfig) {}

  static parse(input: unknown): Result<Directory, string> {
    const parsed = directorySchema.safeParse(input);
    if (!parsed.success) {
      return err(
        `invalid directory: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
      );
    }
    // One identity, one reviewer: otherwise whoever holds it votes as whichever reviewer is found first.
    const shared = sharedIdentities(parsed.data.reviewers);
    if (shared.length > 0) return err(`invalid directory: ${shared.join('; ')}`);
    return ok(new Directory(parsed.data));
  }

  /** The agent's registered owners, or undefined when the agent is not registered. */
  ownersOf(agentId: string): readonly string[] | undefined {
    return this.agent(agentId)?.owners;
  }

  /**
   * The environment a resource lives in, from the directory alone: by the account its ARN names,
   * else (S3 buckets name none) by the bucket's explicit mapping. The requester's account is never
   * consulted: it says where the agent runs, not where someone else's resource lives. A resource
   * with no account and no mapping is `unknown`; an account not listed is the default.
   */
  environmentOf(resourceArn: string): string {
    const [, , service, , arnAccount, ...rest] = resourceArn.split(':');
    const { accounts, buckets = {}, default: fallback } = this.config.environments;
    if (arnAccount) return Object.hasOwn(accounts, arnAccount) ? accounts[arnAccount] : fallback;
    const bucket = rest.join(':').split('/')[0];
    return service === 's3' && Object.hasOwn(buckets, bucket) ? buckets[bucket] : UNKNOWN_ENVIRONMENT;
  }

  /**
   * Everyone who may never approve the agent's requests, as identities: the agent itself and the
   * IAM principals it runs as; each owner (registered now or when the request was made) and every
   * identity of the reviewer that owner is.
   */
  barredFrom(
    agentId: string,
    rule: { readonly requesterId: string; readonly ownerIds: readonly string[] },
  ): { requester: string[]; owners: string[] } {
    const agent = this.agent(agentId);
    const owners = new Set([...rule.ownerIds, ...(agent?.owners ?? [])]);
    return {
      requester: [rule.requesterId, ...(agent?.iamPrincipalArns ?? [])].flatMap((name) =>
        this.identitiesOf(name),
      ),
      owners: [...owners].flatMap((owner) => this.identitiesOf(owner)),
    };
  }

  /** The agent's registration: its owners and the IAM principals it runs as. */
  agent(agentId: string): DirectoryConfig['agents'][string] | undefined {
    return Object.hasOwn(this.config.agents, agentId) ? this.config.agents[agentId] : undefined;
  }

  /**
   * Every identity behind a name (an e-mail, reviewer id, Slack or Teams user, IAM principal): the
   * name itself, and when it is one of a registered reviewer's identities, all of that reviewer's.
   */
  identitiesOf(name: string): string[] {
    const reviewer = this.config.reviewers.find((candidate) =>
      identitiesOfReviewer(candidate).some((identity) => sameIdentity(identity, name)),
    );
    return reviewer ? [name, ...identitiesOfReviewer(reviewer)] : [name];
  }

  /** Every registered reviewer. */
  reviewers(): readonly Reviewer[] {
    return this.config.reviewers;
  }

  reviewerById(id: string): Reviewer | undefined {
    const wanted = id.trim().toLowerCase();
    return this.config.reviewers.find((reviewer) => reviewer.id.toLowerCase() === wanted);
  }

  reviewerBySlackUser(slackUserId: string, email: string | undefined): Reviewer | undefined {
    // The Slack user id must be the one on file when one is; the e-mail alone is accepted only for
    // reviewers registered without one, since Slack workspaces may let users edit their address.
    const byUserId = this.config.reviewers.find((reviewer) => reviewer.slackUserId === slackUserId);
    if (byUserId) return byUserId;
    const byEmail = email ? this.reviewerById(email) : undefined;
    return byEmail && byEmail.slackUserId === undefined ? byEmail : undefined;
  }

  reviewerByTeamsUser(aadObjectId: string): Reviewer | undefined {
    return this.config.reviewers.find((reviewer) => reviewer.teamsAadObjectId === aadObjectId);
  }

  /** The agent whose `iamPrincipalArns` holds `principalArn`, if any. */
  agentByIamPrincipal(principalArn: string): string | undefined {
    return Object.entries(this.config.agents).find(([, agent]) =>
      agent.iamPrincipalArns?.includes(principalArn),
    )?.[0];
  }

  reviewerByIamPrincipal(principalArn: string): Reviewer | undefined {
    return this.config.reviewers.find((reviewer) => reviewer.iamPrincipalArns?.includes(principalArn));
  }
}

/** Every identity a reviewer is known by: the audit id, chat users and IAM principals. */
export function identitiesOfReviewer(reviewer: Reviewer): string[] {
  return [
    reviewer.id,
    ...(reviewer.slackUserId ? [reviewer.slackUserId] : []),
    ...(reviewer.teamsAadObjectId ? [reviewer.teamsAadObjectId] : []),
    ...(reviewer.iamPrincipalArns ?? []),
  ];
}

/**
 * The S3 buckets the directory places in an environment: what the data-read execution role may
 * read by default, besides what the deployer lists.
 */
export function mappedBuckets(config: DirectoryConfig): string[] {
  return Object.keys(config.environments.buckets ?? {}).sort();
}

/** Reviewer ids used twice, and Slack, Teams or IAM identities on more than one reviewer. */
function sharedIdentities(reviewers: readonly Reviewer[]): string[] {
  const kinds = [
    ['id', (reviewer: Reviewer) => [reviewer.id]],
    ['slackUserId', (reviewer: Reviewer) => (reviewer.slackUserId ? [reviewer.slackUserId] : [])],
    [
      'teamsAadObjectId',
      (reviewer: Reviewer) => (reviewer.teamsAadObjectId ? [reviewer.teamsAadObjectId] : []),
    ],
    ['iamPrincipalArns', (reviewer: Reviewer) => reviewer.iamPrincipalArns ?? []],
  ] as const;
  const problems: string[] = [];
  for (const [field, valuesOf] of kinds) {
    const holders = new Map<string, number>();
    reviewers.forEach((reviewer, index) => {
      for (const value of new Set(valuesOf(reviewer).map((v) => v.trim().toLowerCase()))) {
        const first = holders.get(value);
        if (first === undefined) {
          holders.set(value, index);
        } else {
          problems.push(
            `reviewers.${index}.${field}: "${value}" is also reviewer ${first}'s (${reviewers[first].id}); one identity belongs to one reviewer`,
          );
        }
      }
    });
  }
  return problems;
}
