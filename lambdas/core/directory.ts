import { z } from 'zod';
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
      owners: z.array(z.string().min(1)),
      description: z.string().optional(),
      /** IAM principals (role or assumed-role session ARNs) that are this agent, for the status API. */
      iamPrincipalArns: z.array(z.string()).optional(),
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
    /** S3 bucket ARNs name no account, so buckets are placed by name. */
    buckets: z.record(z.string().min(3), z.string().min(1)).optional(),
    /** Applies to accounts not listed; keep it 'production' so unknown means strict. */
    default: z.string().min(1),
  }),
});

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
    return ok(new Directory(parsed.data));
  }

  /** The agent's registered owners, or undefined when the agent is not registered. */
  ownersOf(agentId: string): readonly string[] | undefined {
    return Object.hasOwn(this.config.agents, agentId) ? this.config.agents[agentId].owners : undefined;
  }

  /**
   * The environment a resource lives in: by its account, or for S3 (whose ARNs name no account)
   * by its bucket, else by `fallbackAccount`; anything unplaced is the default.
   */
  environmentOf(resourceArn: string, fallbackAccount?: string): string {
    const [, , service, , arnAccount, path = ''] = resourceArn.split(':');
    const { accounts, buckets = {}, default: fallback } = this.config.environments;
    const bucket = path.split('/')[0];
    if (service === 's3' && Object.hasOwn(buckets, bucket)) return buckets[bucket];
    const account = arnAccount || fallbackAccount;
    return (account && Object.hasOwn(accounts, account) && accounts[account]) || fallback;
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
