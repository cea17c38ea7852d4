import { createHash } from 'node:crypto';
import { loadPolicySources } from '../lambdas/adapters/policy-files';
import { appendRecords, verifyChain, type AuditEvent } from '../lambdas/core/audit';
import { canonicalJson } from '../lambdas/core/canonical';
import { PolicyEngine, type PolicyInput } from '../lambdas/core/policy';
import { buildSessionPolicy } from '../lambdas/core/session-policy';
import { rate, type BenchResult } from './harness';

const inputs: PolicyInput[] = [
  {
    agentId: 'reporting-bot',
    operation: 's3:GetObject',
    accessLevels: ['Read'],
    resource: 'arn:aws:s3:::reports/q3.csv',
    environment: 'staging',
  },
  {
    agentId: 'reporting-bot',
    operation: 'dynamodb:ExportTableToPointInTime',
    accessLevels: ['Write'],
    resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
    environment: 'production',
  },
  {
    agentId: 'deploy-bot',
    operation: 'iam:CreateAccessKey',
    accessLevels: ['Write'],
    resource: 'arn:aws:iam::111122223333:user/ci',
    environment: 'production',
  },
  {
    agentId: 'deploy-bot',
    operation: 'lambda:UpdateFunctionConfiguration',
    accessLevels: ['Write'],
    resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
    environment: 'production',
    requestedTtlSeconds: 600,
  },
];

/** A realistic request life: the records a quorum-2 approval and its execution leave behind. */
function sampleChain(requestId: string) {
  const base = { requestId, at: '2026-11-24T10:00:00.000Z', parametersHash: 'a'.repeat(64) };
  const events: AuditEvent[] = [
    {
      ...base,
      type: 'requested',
      actor: { kind: 'agent', id: 'reporting-bot' },
      details: { operation: 'dynamodb:ExportTableToPointInTime', justification: 'Quarterly revenue report.' },
    },
    {
      ...base,
      type: 'policy-evaluated',
      actor: { kind: 'system', id: 'evaluate' },
      details: { outcome: 'require-approval', quorum: 2, approverGroups: ['security'] },
    },
    {
      ...base,
      type: 'approval-requested',
      actor: { kind: 'system', id: 'request-approval' },
      details: { channels: ['slack'] },
    },
    {
      ...base,
      type: 'vote',
      actor: { kind: 'reviewer', id: 'alice@example.com' },
      details: { decision: 'approve', counted: true },
    },
    {
      ...base,
      type: 'vote',
      actor: { kind: 'reviewer', id: 'bob@example.com' },
      details: { decision: 'approve', counted: true },
    },
    {
      ...base,
      type: 'approved',
      actor: { kind: 'reviewer', id: 'bob@example.com' },
      details: { reviewers: ['alice@example.com', 'bob@example.com'] },
    },
    {
      ...base,
      type: 'credentials-issued',
      actor: { kind: 'system', id: 'execute' },
      details: { accessKeyId: 'ASIAEXAMPLE', expiration: '2026-11-24T10:15:00.000Z' },
    },
    {
      ...base,
      type: 'executed',
      actor: { kind: 'system', id: 'execute' },
      details: { result: { ExportStatus: 'IN_PROGRESS' } },
    },
  ];
  return appendRecords(undefined, events);
}

export async function run(): Promise<BenchResult[]> {
  const engine = (decisionCacheSize: number) => {
    const loaded = PolicyEngine.load({ ...loadPolicySources(), decisionCacheSize });
    if (!loaded.ok) throw loaded.error;
    return loaded.value;
  };
  const uncached = engine(0);
  const cached = engine(10_000);

  const chains = Array.from({ length: 500 }, (_, i) => sampleChain(`bench-${i}`));
  const records = chains.flat();
  // The bytes verification hashes: each record's canonical JSON without its hash.
  const recordBytes = records.map(({ hash: _hash, ...unsealed }) => Buffer.from(canonicalJson(unsealed)));

  const verifiedChainsPerSecond = rate((i) => {
    if (!verifyChain(chains[i % chains.length]).ok) throw new Error('chain did not verify');
  });
  const rawHashesPerSecond = rate((i) => {
    createHash('sha256')
      .update(recordBytes[i % recordBytes.length])
      .digest('hex');
  });
  const recordsPerChain = records.length / chains.length;
  const verifiedRecordsPerSecond = Math.round(verifiedChainsPerSecond * recordsPerChain);

  return [
    // Every call a distinct request, so each one goes through Cedar.
    {
      name: 'core.policy.fresh_decisions_per_s',
      unit: 'decisions/s',
      value: rate((i) =>
        uncached.evaluate({
          ...inputs[i % inputs.length],
          resource: `${inputs[i % inputs.length].resource}-${i}`,
        }),
      ),
    },
    // Agents repeat the same operation on the same resource; the engine remembers exact decisions.
    {
      name: 'core.policy.cached_decisions_per_s',
      unit: 'decisions/s',
      value: rate((i) => cached.evaluate(inputs[i % inputs.length])),
    },
    {
      name: 'core.session_policy.built_per_s',
      unit: 'policies/s',
      value: rate((i) => {
        const built = buildSessionPolicy({
          operation: 'dynamodb:ExportTableToPointInTime',
          resource: `arn:aws:dynamodb:eu-west-1:111122223333:table/orders-${i % 100}`,
          notAfter: '2026-11-24T10:15:00Z',
          companions: [
            {
              actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
              resources: [`arn:aws:s3:::exports/orders/${i}/*`],
            },
          ],
        });
        if (!built.ok) throw new Error(built.error.message);
      }),
    },
    { name: 'core.audit.records_verified_per_s', unit: 'records/s', value: verifiedRecordsPerSecond },
    { name: 'core.audit.raw_sha256_per_s', unit: 'records/s', value: rawHashesPerSecond },
    {
      name: 'core.audit.verify_to_raw_sha256_ratio',
      unit: 'ratio',
      value: Number((verifiedRecordsPerSecond / rawHashesPerSecond).toFixed(3)),
    },
  ];
}
