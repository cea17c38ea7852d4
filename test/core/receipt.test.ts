import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { signReceipt, verifyReceipt, type ApprovalReceipt } from '../../lambdas/core/receipt';

const receipt: ApprovalReceipt = {
  requestId: 'req-1',
  agentId: 'reporting-bot',
  operation: 'dynamodb:ExportTableToPointInTime',
  resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
  parametersHash: 'c'.repeat(64),
  reviewers: ['alice@example.com', 'bob@example.com'],
  decision: 'approved',
  decidedAt: '2026-11-24T10:30:00.000Z',
  expiresAt: '2026-11-24T10:45:00.000Z',
};

describe('Function: signReceipt', () => {
  const signer = LocalSigner.generate('receipt-key-1');

  it('produces a compact ES256 JWS naming the key', async () => {
    const jws = await signReceipt(receipt, signer);

    const header = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString('utf8'));
    expect(header).toEqual({ alg: 'ES256', kid: 'receipt-key-1', typ: 'approval-receipt+jwt' });
  });

  it('verifies offline with the public key alone', async () => {
    const jws = await signReceipt(receipt, signer);

    await expect(verifyReceipt(jws, signer.publicJwk())).resolves.toEqual({ ok: true, value: receipt });
  });

  it('rejects a receipt whose payload was edited', async () => {
    const [header, , signature] = (await signReceipt(receipt, signer)).split('.');
    const forged = Buffer.from(
      JSON.stringify({
        iss: 'action-approvals',
        ...receipt,
        resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/users',
      }),
    ).toString('base64url');

    const result = await verifyReceipt(`${header}.${forged}.${signature}`, signer.publicJwk());

    expect(result).toEqual({ ok: false, error: 'signature check failed: signature verification failed' });
  });

  it('rejects a receipt signed by another key', async () => {
    const jws = await signReceipt(receipt, LocalSigner.generate('attacker'));

    const result = await verifyReceipt(jws, signer.publicJwk());

    expect(result.ok).toBe(false);
  });

  it('rejects a correctly signed token that is not a receipt', async () => {
    const jws = await signReceipt({ ...receipt, parametersHash: 'not-a-hash' }, signer);

    const result = await verifyReceipt(jws, signer.publicJwk());

    expect(result).toEqual({ ok: false, error: 'payload is not a receipt: parametersHash' });
  });

  it('survives a round trip of the signing key through JWK', async () => {
    const restored = LocalSigner.fromPrivateJwk(signer.privateJwk());

    const result = await verifyReceipt(await signReceipt(receipt, restored), signer.publicJwk());

    expect(result.ok).toBe(true);
  });
});
