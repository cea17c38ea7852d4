import { GetPublicKeyCommand, KMSClient, SignCommand, type SignCommandInput } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import fc from 'fast-check';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  derToJoseSignature,
  KmsKeyError,
  KmsSigner,
  publicJwkFromKms,
} from '../../lambdas/adapters/kms-signer';
import { signReceipt, verifyReceipt, type ApprovalReceipt, type Signer } from '../../lambdas/core/receipt';

const kms = mockClient(KMSClient);

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
// The local key stands in for the KMS key: the mock signs with it exactly as KMS would answer.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const SPKI = publicKey.export({ format: 'der', type: 'spki' });

/** What KMS does for ECDSA_SHA_256: a DER signature over the message, or over a digest as given. */
function kmsSign(
  input: SignCommandInput,
  original: () => Uint8Array,
): { Signature: Uint8Array; KeyId: string; SigningAlgorithm: 'ECDSA_SHA_256' } {
  const message = input.Message as Uint8Array;
  // node:crypto cannot sign a precomputed digest, so for DIGEST the test signs the original message
  // after checking that the digest is that message's SHA-256: the signature is the same.
  if (input.MessageType === 'DIGEST') {
    expect(Buffer.from(message)).toEqual(createHash('sha256').update(original()).digest());
    return {
      Signature: sign('sha256', original(), { key: privateKey, dsaEncoding: 'der' }),
      KeyId: KEY_ID,
      SigningAlgorithm: 'ECDSA_SHA_256',
    };
  }
  return {
    Signature: sign('sha256', message, { key: privateKey, dsaEncoding: 'der' }),
    KeyId: KEY_ID,
    SigningAlgorithm: 'ECDSA_SHA_256',
  };
}

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

/** An independent DER encoder for ECDSA signatures: minimal, signed INTEGERs in a SEQUENCE. */
function derOf(r: Uint8Array, s: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
    const trimmed = bytes.subarray(start);
    const value = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
    return Buffer.concat([Buffer.from([0x02, value.length]), value]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

// 32-byte integers biased towards the edge cases: leading zero bytes and the top bit set.
const coordinate = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc
    .tuple(fc.integer({ min: 1, max: 31 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
    .map(([zeros, bytes]) => {
      const out = Uint8Array.from(bytes);
      out.fill(0, 0, zeros);
      return out;
    }),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => {
    const out = Uint8Array.from(bytes);
    out[0] |= 0x80;
    return out;
  }),
);

describe('Class: KmsSigner', () => {
  afterEach(() => kms.reset());

  describe('Method: sign', () => {
    it('asks KMS for an ECDSA_SHA_256 signature over the raw message', async () => {
      // Prepare
      const message = new TextEncoder().encode('header.payload');
      kms.on(SignCommand).callsFake((input: SignCommandInput) => kmsSign(input, () => message));

      // Act
      const signature = await new KmsSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID).sign(message);

      // Assess
      expect(kms).toHaveReceivedCommandWith(SignCommand, {
        KeyId: KEY_ID,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      });
      expect(signature).toHaveLength(64);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    });

    it('signs receipts that verify offline with the key KMS publishes, whatever they hold', async () => {
      // Prepare
      kms.on(GetPublicKeyCommand).resolves({
        KeyId: KEY_ID,
        PublicKey: SPKI,
        KeySpec: 'ECC_NIST_P256',
        SigningAlgorithms: ['ECDSA_SHA_256'],
      });
      const client = new KMSClient({ region: 'eu-west-1' });
      const signer = new KmsSigner(client, KEY_ID);
      const jwk = await publicJwkFromKms(client, KEY_ID);
      const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 });
      const receipts = fc.record({
        requestId: text,
        agentId: text,
        operation: text,
        resource: text,
        parametersHash: fc.stringMatching(/^[0-9a-f]{64}$/),
        reviewers: fc.array(text, { minLength: 1, maxLength: 4 }),
        decision: fc.constant('approved' as const),
        decidedAt: fc
          .date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString()),
        expiresAt: fc
          .date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString()),
      });

      kms
        .on(SignCommand)
        .callsFake((input: SignCommandInput) => kmsSign(input, () => input.Message as Uint8Array));

      // Act + Assess
      await fc.assert(
        fc.asyncProperty(receipts, async (generated) => {
          const jws = await signReceipt(generated, signer);
          expect(await verifyReceipt(jws, jwk)).toEqual({ ok: true, value: generated });
        }),
        { numRuns: 250 },
      );
    });

    it('sends the digest of a message longer than KMS signs raw, and the signature still verifies', async () => {
      // Prepare
      kms
        .on(GetPublicKeyCommand)
        .resolves({ PublicKey: SPKI, KeySpec: 'ECC_NIST_P256', SigningAlgorithms: ['ECDSA_SHA_256'] });
      const client = new KMSClient({ region: 'eu-west-1' });
      const long = { ...receipt, resource: `arn:aws:s3:::bucket/${'k'.repeat(3_500)}` };
      const signer = new KmsSigner(client, KEY_ID);
      const signingInputs: Uint8Array[] = [];
      const recording: Signer = {
        keyId: KEY_ID,
        sign: (data) => {
          signingInputs.push(data);
          return signer.sign(data);
        },
      };
      kms.on(SignCommand).callsFake((input: SignCommandInput) => kmsSign(input, () => signingInputs[0]));

      // Act
      const jws = await signReceipt(long, recording);

      // Assess
      expect(signingInputs[0].byteLength).toBeGreaterThan(4096);
      expect(kms).toHaveReceivedCommandWith(SignCommand, {
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      });
      await expect(verifyReceipt(jws, await publicJwkFromKms(client, KEY_ID))).resolves.toEqual({
        ok: true,
        value: long,
      });
    });

    it('throws when KMS returns no signature', async () => {
      kms.on(SignCommand).resolves({});

      await expect(
        new KmsSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID).sign(new Uint8Array([1])),
      ).rejects.toThrow(KmsKeyError);
    });
  });
});

describe('Function: derToJoseSignature', () => {
  it('turns any DER signature back into the 32-byte r and s it encodes', () => {
    fc.assert(
      fc.property(coordinate, coordinate, (r, s) => {
        expect(Buffer.from(derToJoseSignature(derOf(r, s)))).toEqual(Buffer.concat([r, s]));
      }),
      { numRuns: 1_000 },
    );
  });

  it('handles the integer forms KMS produces: 33 bytes with a sign byte, and fewer than 32', () => {
    const high = new Uint8Array(32).fill(0xff);
    const short = Uint8Array.from({ length: 32 }, (_, i) => (i < 2 ? 0 : i));
    const der = derOf(high, short);

    expect(der[3]).toBe(33);
    expect(Buffer.from(derToJoseSignature(der))).toEqual(Buffer.concat([high, short]));
  });

  it.each([
    ['a wrong outer tag', Uint8Array.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['bytes after the sequence', Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00])],
    ['a third integer', Uint8Array.from([0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['a length past the end', Uint8Array.from([0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['a negative integer', Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01])],
    ['an empty integer', Uint8Array.from([0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01])],
    [
      'an integer longer than 32 bytes',
      derOf(Uint8Array.from([1, ...new Uint8Array(32)]), new Uint8Array([1])),
    ],
    ['nothing', new Uint8Array()],
  ])('refuses %s', (_what, der) => {
    expect(() => derToJoseSignature(der)).toThrow(KmsKeyError);
  });
});

describe('Function: publicJwkFromKms', () => {
  afterEach(() => kms.reset());

  it('converts the key KMS publishes into an ES256 JWK named by the key id', async () => {
    kms
      .on(GetPublicKeyCommand)
      .resolves({ PublicKey: SPKI, KeySpec: 'ECC_NIST_P256', SigningAlgorithms: ['ECDSA_SHA_256'] });

    const jwk = await publicJwkFromKms(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    const expected = publicKey.export({ format: 'jwk' });
    expect(jwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expected.x,
      y: expected.y,
      kid: KEY_ID,
      alg: 'ES256',
      use: 'sig',
    });
    expect(kms).toHaveReceivedCommandWith(GetPublicKeyCommand, { KeyId: KEY_ID });
  });

  it('refuses a key that cannot sign ES256 receipts', async () => {
    kms
      .on(GetPublicKeyCommand)
      .resolves({ PublicKey: SPKI, KeySpec: 'RSA_2048', SigningAlgorithms: ['RSASSA_PSS_SHA_256'] });

    await expect(publicJwkFromKms(new KMSClient({ region: 'eu-west-1' }), KEY_ID)).rejects.toThrow(
      `key ${KEY_ID} is RSA_2048; receipts need an ECC_NIST_P256 key signing with ECDSA_SHA_256`,
    );
  });
});
