import fc from 'fast-check';
import {
  Directory,
  mappedBuckets,
  UNKNOWN_ENVIRONMENT,
  type DirectoryConfig,
} from '../../lambdas/core/directory';

const config: DirectoryConfig = {
  agents: {
    'reporting-bot': {
      owners: ['owner@example.com'],
      iamPrincipalArns: ['arn:aws:iam::111122223333:role/reporting-bot'],
    },
  },
  reviewers: [
    {
      id: 'alice@example.com',
      groups: ['security'],
      slackUserId: 'UALICE',
      teamsAadObjectId: 'aad-alice',
      iamPrincipalArns: ['arn:aws:iam::111122223333:user/alice'],
    },
    { id: 'bob@example.com', groups: ['operators'] },
  ],
  environments: {
    accounts: { '111122223333': 'production', '444455556666': 'staging' },
    buckets: { 'staging-reports': 'staging' },
    default: 'production',
  },
};

function directory(): Directory {
  const parsed = Directory.parse(config);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('Class: Directory', () => {
  describe('Method: parse', () => {
    it('refuses a configuration with a readable list of problems', () => {
      const parsed = Directory.parse({ ...config, environments: { accounts: { '12': 'x' }, default: '' } });

      expect(parsed).toEqual({ ok: false, error: expect.stringContaining('environments.default') });
    });
  });

  describe('Method: ownersOf', () => {
    it('returns the owners of a registered agent and nothing for a stranger', () => {
      expect([directory().ownersOf('reporting-bot'), directory().ownersOf('stranger')]).toEqual([
        ['owner@example.com'],
        undefined,
      ]);
    });

    it('does not mistake inherited object keys for agents', () => {
      expect(directory().ownersOf('constructor')).toBeUndefined();
    });
  });

  describe('Method: environmentOf', () => {
    it('places a resource by its account', () => {
      expect(directory().environmentOf('arn:aws:dynamodb:eu-west-1:444455556666:table/orders')).toBe(
        'staging',
      );
    });

    it('places an S3 object by its bucket', () => {
      expect(directory().environmentOf('arn:aws:s3:::staging-reports/q3.csv')).toBe('staging');
    });

    it('treats anything it cannot place as the default', () => {
      expect(directory().environmentOf('arn:aws:dynamodb:eu-west-1:999999999999:table/orders')).toBe(
        'production',
      );
    });
  });

  describe('Method: reviewers', () => {
    it('lists every registered reviewer', () => {
      expect(
        directory()
          .reviewers()
          .map((reviewer) => reviewer.id),
      ).toEqual(['alice@example.com', 'bob@example.com']);
    });
  });

  describe('Method: reviewer lookups', () => {
    it('finds a reviewer by e-mail whatever its case', () => {
      expect(directory().reviewerById(' ALICE@example.com ')?.id).toBe('alice@example.com');
    });

    it('maps a Slack user by the id on file', () => {
      expect(directory().reviewerBySlackUser('UALICE', 'someone-else@example.com')?.id).toBe(
        'alice@example.com',
      );
    });

    it('refuses a Slack e-mail match for a reviewer registered with another Slack id', () => {
      expect(directory().reviewerBySlackUser('UMALLORY', 'alice@example.com')).toBeUndefined();
    });

    it('accepts a Slack e-mail match for a reviewer registered without a Slack id', () => {
      expect(directory().reviewerBySlackUser('UBOB', 'bob@example.com')?.id).toBe('bob@example.com');
    });

    it('maps Teams and IAM identities only by the ids on file', () => {
      expect([
        directory().reviewerByTeamsUser('aad-alice')?.id,
        directory().reviewerByIamPrincipal('arn:aws:iam::111122223333:user/alice')?.id,
        directory().reviewerByIamPrincipal('arn:aws:iam::111122223333:user/ALICE'),
      ]).toEqual(['alice@example.com', 'alice@example.com', undefined]);
    });

    it('maps an agent only by the IAM principal ARNs on file', () => {
      expect([
        directory().agentByIamPrincipal('arn:aws:iam::111122223333:role/reporting-bot'),
        directory().agentByIamPrincipal('arn:aws:iam::111122223333:role/other-bot'),
        directory().agentByIamPrincipal('arn:aws:iam::111122223333:user/alice'),
      ]).toEqual(['reporting-bot', undefined, undefined]);
    });
  });
});

describe('Attack class 3: environments come from authority', () => {
  it('gives an unmapped bucket the environment unknown, whatever account the requester runs in', () => {
    expect(directory().environmentOf('arn:aws:s3:::someone-elses-bucket/q3.csv')).toBe(UNKNOWN_ENVIRONMENT);
  });

  it('gives an account-less ARN of another service the environment unknown, not the default', () => {
    expect(directory().environmentOf('arn:aws:route53:::hostedzone/Z123')).toBe(UNKNOWN_ENVIRONMENT);
  });

  it('never lets the requester place someone else’s bucket: the answer depends on the ARN alone', () => {
    const environmentOf = directory().environmentOf.bind(directory()) as (...args: unknown[]) => string;
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9.-]{2,20}$/),
        fc.constantFrom('444455556666', '111122223333', '999999999999'),
        (bucket, requesterAccount) => {
          const arn = `arn:aws:s3:::${bucket}/key`;
          expect(environmentOf(arn, requesterAccount)).toBe(environmentOf(arn));
        },
      ),
    );
  });

  it('does not read a bucket named after an inherited object key as mapped', () => {
    expect(directory().environmentOf('arn:aws:s3:::constructor/key')).toBe(UNKNOWN_ENVIRONMENT);
  });

  it('lists the buckets the directory maps, for the data-read role', () => {
    expect(
      mappedBuckets({
        ...config,
        environments: { ...config.environments, buckets: { zeta: 'staging', alpha: 'production' } },
      }),
    ).toEqual(['alpha', 'zeta']);
  });

  it('maps no bucket when the directory names none', () => {
    expect(mappedBuckets({ ...config, environments: { accounts: {}, default: 'production' } })).toEqual([]);
  });
});

describe('Attack class 5: identities are pinned at every entry', () => {
  const alice = config.reviewers[0];
  const withReviewers = (reviewers: DirectoryConfig['reviewers']) =>
    Directory.parse({ ...config, reviewers });

  it.each([
    ['the same reviewer id', { id: 'ALICE@example.com' }, 'reviewers.2.id'],
    ['alice’s Slack user', { slackUserId: 'UALICE' }, 'reviewers.2.slackUserId'],
    ['alice’s Teams user', { teamsAadObjectId: 'AAD-ALICE' }, 'reviewers.2.teamsAadObjectId'],
    [
      'alice’s IAM principal',
      { iamPrincipalArns: ['arn:aws:iam::111122223333:user/alice'] },
      'reviewers.2.iamPrincipalArns',
    ],
  ])('refuses a directory where a second reviewer claims %s', (_case, claimed, path) => {
    const parsed = withReviewers([
      ...config.reviewers,
      { id: 'mallory@example.com', groups: ['security'], ...claimed },
    ]);

    expect(parsed).toEqual({ ok: false, error: expect.stringContaining(path) });
  });

  it('refuses any generated directory in which one identity belongs to two reviewers', () => {
    const field = fc.constantFrom('id', 'slackUserId', 'teamsAadObjectId', 'iamPrincipalArns');
    fc.assert(
      fc.property(field, fc.stringMatching(/^[A-Za-z0-9@.:/-]{1,30}$/), (kind, value) => {
        const claim = (id: string) =>
          kind === 'id'
            ? { id: value, groups: ['security'] }
            : { id, groups: ['security'], [kind]: kind === 'iamPrincipalArns' ? [value] : value };

        expect(withReviewers([claim('first@example.com'), claim('second@example.com')]).ok).toBe(false);
      }),
    );
  });

  it('accepts distinct identities', () => {
    expect(
      withReviewers([alice, { id: 'mallory@example.com', groups: ['security'], slackUserId: 'UMALLORY' }]).ok,
    ).toBe(true);
  });

  it('resolves an owner listed by any identity to all of that reviewer’s identities', () => {
    const listedBySlack = Directory.parse({ ...config, agents: { bot: { owners: ['UALICE'] } } });
    if (!listedBySlack.ok) throw new Error(listedBySlack.error);

    expect(listedBySlack.value.barredFrom('bot', { requesterId: 'agent:bot', ownerIds: [] }).owners).toEqual(
      expect.arrayContaining([
        'alice@example.com',
        'UALICE',
        'aad-alice',
        'arn:aws:iam::111122223333:user/alice',
      ]),
    );
  });
});
