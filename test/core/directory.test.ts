import { Directory, type DirectoryConfig } from '../../lambdas/core/directory';

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
      expect(directory().environmentOf('arn:aws:s3:::staging-reports/q3.csv', '111122223333')).toBe(
        'staging',
      );
    });

    it('places an unlisted bucket by the fallback account', () => {
      expect(directory().environmentOf('arn:aws:s3:::other/q3.csv', '444455556666')).toBe('staging');
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
