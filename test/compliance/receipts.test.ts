import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { decodeProtectedHeader } from 'jose';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { appendRecord } from '../../lambdas/core/audit';
import { type ApprovalReceipt, signReceipt, verifyReceipt } from '../../lambdas/core/receipt';
import {
  bindingMismatches,
  bindingOf,
  executionMismatches,
  kmsPublicJwk,
  readJwkFile,
  receiptChecker,
} from '../../lambdas/compliance/receipts';
import { removeTempDirs, tempDir } from './helpers';

const kms = mockClient(KMSClient);
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/0b6a5a38-7c2e-4a5e-9d0b-3f1f4d1f8a11';

const receipt: ApprovalReceipt = {
  requestId: 'req-1',
  agentId: 'etl-pipeline',
  operation: 'dynamodb:ExportTableToPointInTime',
  resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders',
  parametersHash: 'a'.repeat(64),
  reviewers: ['alice@example.com'],
  decision: 'approved',
  decidedAt: '2026-11-24T10:00:00.000Z',
  expiresAt: '2026-11-24T10:15:00.000Z',
};

const spkiDer = (signer: LocalSigner): Uint8Array =>
  createPublicKey({ key: signer.publicJwk() as JsonWebKey, format: 'jwk' }).export({
    format: 'der',
    type: 'spki',
  });

afterEach(() => {
  kms.reset();
});

afterAll(removeTempDirs);

describe('Function: kmsPublicJwk', () => {
  it('fetches the KMS public key with GetPublicKey and verifies receipts the key signed', async () => {
    // Prepare: a local key stands in for the KMS key's private half
    const signer = LocalSigner.generate(KEY_ARN);
    kms.on(GetPublicKeyCommand, { KeyId: 'alias/action-approvals-receipts' }).resolves({
      KeyId: KEY_ARN,
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      PublicKey: spkiDer(signer),
    });

    // Act
    const jwk = await kmsPublicJwk(new KMSClient({}), 'alias/action-approvals-receipts');

    // Assess
    if (!jwk.ok) throw new Error(jwk.error);
    expect(jwk.value).toMatchObject({ kty: 'EC', crv: 'P-256', kid: KEY_ARN, alg: 'ES256' });
    expect(kms.commandCalls(GetPublicKeyCommand).map((call) => call.args[0].input)).toEqual([
      { KeyId: 'alias/action-approvals-receipts' },
    ]);
    await expect(receiptChecker([jwk.value])(await signReceipt(receipt, signer))).resolves.toEqual({
      ok: true,
      value: receipt,
    });
  });

  it('refuses a key that cannot have signed ES256 receipts', async () => {
    kms.on(GetPublicKeyCommand).resolves({
      KeyId: KEY_ARN,
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      PublicKey: new Uint8Array([1]),
    });

    await expect(kmsPublicJwk(new KMSClient({}), KEY_ARN)).resolves.toEqual({
      ok: false,
      error: `KMS key ${KEY_ARN} is RSA_2048 for SIGN_VERIFY; receipts need an ECC_NIST_P256 SIGN_VERIFY key`,
    });
  });

  it('reports a key it may not read', async () => {
    kms.on(GetPublicKeyCommand).rejects(new Error('User is not authorized to perform: kms:GetPublicKey'));

    await expect(kmsPublicJwk(new KMSClient({}), KEY_ARN)).resolves.toEqual({
      ok: false,
      error: `KMS key ${KEY_ARN}: User is not authorized to perform: kms:GetPublicKey`,
    });
  });
});

describe('Function: readJwkFile', () => {
  it('reads a single JWK and a JWK set', async () => {
    const dir = tempDir();
    const [a, b] = [LocalSigner.generate('key-a').publicJwk(), LocalSigner.generate('key-b').publicJwk()];
    writeFileSync(join(dir, 'one.json'), JSON.stringify(a));
    writeFileSync(join(dir, 'set.json'), JSON.stringify({ keys: [a, b] }));

    await expect(readJwkFile(join(dir, 'one.json'))).resolves.toEqual({ ok: true, value: [a] });
    await expect(readJwkFile(join(dir, 'set.json'))).resolves.toEqual({ ok: true, value: [a, b] });
  });

  it('refuses a file that holds no key', async () => {
    const path = join(tempDir(), 'not-a-key.json');
    writeFileSync(path, '{"hello": "world"}');

    await expect(readJwkFile(path)).resolves.toEqual({
      ok: false,
      error: `${path}: expected a JWK or a JWK set`,
    });
  });
});

describe('Function: receiptChecker', () => {
  it('accepts a receipt signed by any trusted key, so receipts from before a rotation still verify', async () => {
    const [old, current] = [LocalSigner.generate('2025'), LocalSigner.generate('2026')];
    const check = receiptChecker([current.publicJwk(), old.publicJwk()]);

    await expect(check(await signReceipt(receipt, old))).resolves.toMatchObject({ ok: true });
  });

  it('rejects a receipt signed by an untrusted key that claims a trusted kid', async () => {
    const trusted = LocalSigner.generate('receipts');
    const check = receiptChecker([trusted.publicJwk()]);

    await expect(check(await signReceipt(receipt, LocalSigner.generate('receipts')))).resolves.toMatchObject({
      ok: false,
    });
  });

  it('rejects what is not a JWS', async () => {
    await expect(receiptChecker([LocalSigner.generate().publicJwk()])('not-a-jws')).resolves.toEqual({
      ok: false,
      error: 'not a compact JWS',
    });
  });
});

describe('Function: receiptChecker against jose alone', () => {
  const signer = LocalSigner.generate('receipts');
  const jwk = signer.publicJwk();
  /** The check as jose alone makes it: what node:crypto's shortcut must agree with on every input. */
  const joseAlone = async (jws: string) => {
    try {
      decodeProtectedHeader(jws);
    } catch {
      return { ok: false, error: 'not a compact JWS' };
    }
    return verifyReceipt(jws, jwk);
  };
  const base64url = (text: string): string => Buffer.from(text).toString('base64url');
  const header = fc
    .record(
      {
        alg: fc.constantFrom('ES256', 'ES384', 'none', 'es256'),
        kid: fc.constantFrom('receipts', 'other'),
        typ: fc.constant('approval-receipt+jwt'),
        crit: fc.constant(['b64']),
        b64: fc.boolean(),
        extra: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((fields) => base64url(JSON.stringify(fields)));

  it('accepts and rejects exactly what jose does, for the same reasons', async () => {
    const genuine = await signReceipt(receipt, signer);
    const [, payload, signature] = genuine.split('.');
    const check = receiptChecker([jwk]);
    const characters = fc.constantFrom(...'AZaz09-_.=+/ \n'.split(''));
    const variant = fc.oneof(
      fc.constant(genuine),
      fc
        .tuple(fc.nat({ max: genuine.length - 1 }), characters)
        .map(([at, character]) => genuine.slice(0, at) + character + genuine.slice(at + 1)),
      fc.nat({ max: genuine.length - 1 }).map((at) => genuine.slice(0, at) + genuine.slice(at + 1)),
      header.map((replaced) => `${replaced}.${payload}.${signature}`),
    );

    await fc.assert(
      fc.asyncProperty(variant, async (jws) => {
        expect(await check(jws)).toEqual(await joseAlone(jws));
      }),
      { numRuns: 300 },
    );
  });
});

describe('Function: executionMismatches', () => {
  const executed = (at: string, parametersHash = receipt.parametersHash) =>
    appendRecord(undefined, {
      requestId: 'req-1',
      at,
      type: 'executed',
      actor: { kind: 'system', id: 'mint-and-execute' },
      parametersHash,
    });

  it('finds nothing when the execution is the approved one, within the approval', () => {
    expect(executionMismatches(receipt, executed('2026-11-24T10:05:00.000Z'))).toEqual([]);
  });

  it('finds an execution after the approval expired, and one with other parameters', () => {
    expect(executionMismatches(receipt, executed('2026-11-24T10:20:00.000Z', 'b'.repeat(64)))).toEqual([
      `parametersHash is ${'a'.repeat(64)} in the receipt but ${'b'.repeat(64)} in the executed record`,
      'executed at 2026-11-24T10:20:00.000Z, after the approval expired at 2026-11-24T10:15:00.000Z',
    ]);
  });
});

describe('Function: bindingMismatches', () => {
  it('compares the receipt with the agent, operation, resource and parameters of the requested record', () => {
    const requested = appendRecord(undefined, {
      requestId: 'req-1',
      at: '2026-11-24T09:59:00.000Z',
      type: 'requested',
      actor: { kind: 'agent', id: 'etl-pipeline' },
      parametersHash: receipt.parametersHash,
      details: {
        operation: receipt.operation,
        resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/payroll',
      },
    });

    expect(bindingMismatches(receipt, bindingOf(requested))).toEqual([
      `resource is "${receipt.resource}" in the receipt but "arn:aws:dynamodb:us-east-1:123456789012:table/payroll" in the requested record`,
    ]);
  });
});
