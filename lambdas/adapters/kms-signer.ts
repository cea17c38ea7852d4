import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { JWK } from 'jose';
import { createHash, createPublicKey } from 'node:crypto';
import type { Signer } from '../core/receipt';
import { ActionApprovalsError } from '../app/ports';

/** KMS signs a RAW message of at most this many bytes; anything longer is sent as its digest. */
export const KMS_RAW_MESSAGE_MAX_BYTES = 4096;

/** A P-256 coordinate, and so each half of an ES256 signature, is 32 bytes. */
const P256_SIZE = 32;

/** KMS returned something that is not the ECDSA P-256 signature or key it should be. */
export class KmsKeyError extends ActionApprovalsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KmsKeyError';
  }
}

/**
 * Signs receipts with an asymmetric KMS key (key spec ECC_NIST_P256, usage SIGN_VERIFY): the
 * private key never leaves KMS.
 */
export class KmsSigner implements Signer {
  /**
   * @param keyId the key's ARN (or alias ARN); it is also the `kid` receipts name, so verifiers
   *   should get the public key under the same id (see publicJwkFromKms).
   */
  constructor(
    private readonly client: KMSClient,
    readonly keyId: string,
  ) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    // For ECDSA_SHA_256, KMS signing a DIGEST is signing the SHA-256 of the message: the signature
    // is the same, and messages past KMS's RAW limit still get signed.
    const raw = data.byteLength <= KMS_RAW_MESSAGE_MAX_BYTES;
    const { Signature } = await this.client.send(
      new SignCommand({
        KeyId: this.keyId,
        Message: raw ? data : createHash('sha256').update(data).digest(),
        MessageType: raw ? 'RAW' : 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    if (!Signature) throw new KmsKeyError(`KMS returned no signature for key ${this.keyId}`);
    return derToJoseSignature(Signature);
  }
}

/**
 * Converts the DER form of an ECDSA signature (what KMS returns: SEQUENCE { INTEGER r, INTEGER s })
 * to the fixed-width r‖s form JWS uses (RFC 7518 §3.4). DER integers are minimal and signed: a
 * value with its top bit set gains a leading zero byte (33 bytes), and a small value loses its
 * leading zeros (31 bytes or fewer); both must come back as exactly 32 bytes.
 *
 * @throws KmsKeyError when the input is not such a signature.
 */
export function derToJoseSignature(der: Uint8Array, size = P256_SIZE): Uint8Array {
  const reader = new DerReader(der);
  const sequence = reader.element(0x30);
  if (!reader.done()) throw new KmsKeyError('the signature has bytes after its DER sequence');
  const fields = new DerReader(sequence);
  const r = fields.element(0x02);
  const s = fields.element(0x02);
  if (!fields.done()) throw new KmsKeyError('the signature sequence holds more than r and s');
  const out = new Uint8Array(size * 2);
  out.set(fixedWidth(r, size, 'r'), 0);
  out.set(fixedWidth(s, size, 's'), size);
  return out;
}

function fixedWidth(integer: Uint8Array, size: number, name: string): Uint8Array {
  if (integer.length === 0) throw new KmsKeyError(`the signature's ${name} is empty`);
  if (integer[0] & 0x80) throw new KmsKeyError(`the signature's ${name} is negative`);
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start += 1;
  const magnitude = integer.subarray(start);
  if (magnitude.length > size) throw new KmsKeyError(`the signature's ${name} is longer than ${size} bytes`);
  const padded = new Uint8Array(size);
  padded.set(magnitude, size - magnitude.length);
  return padded;
}

/** Just enough DER to read an ECDSA signature: tag, definite length (short or long form), value. */
class DerReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  element(tag: number): Uint8Array {
    if (this.bytes[this.offset] !== tag) {
      throw new KmsKeyError(`expected DER tag 0x${tag.toString(16)} at byte ${this.offset}`);
    }
    this.offset += 1;
    const length = this.length();
    const end = this.offset + length;
    if (end > this.bytes.length) throw new KmsKeyError('a DER length runs past the end of the signature');
    const value = this.bytes.subarray(this.offset, end);
    this.offset = end;
    return value;
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }

  private length(): number {
    const first = this.bytes[this.offset];
    if (first === undefined) throw new KmsKeyError('the signature ends before a DER length');
    this.offset += 1;
    if (first < 0x80) return first;
    // A signature is never longer than a few hundred bytes: up to two length bytes are plenty.
    const count = first & 0x7f;
    if (count === 0 || count > 2) throw new KmsKeyError('unsupported DER length form');
    let length = 0;
    for (let i = 0; i < count; i += 1) {
      const byte = this.bytes[this.offset];
      if (byte === undefined) throw new KmsKeyError('the signature ends inside a DER length');
      length = length * 256 + byte;
      this.offset += 1;
    }
    return length;
  }
}

/**
 * The public half of a KMS signing key as a JWK, for verifying receipts offline. `kid` is the
 * `keyId` given, so it matches the `kid` a KmsSigner built with the same id writes.
 *
 * @throws KmsKeyError when the key is not an ECC_NIST_P256 key that signs with ECDSA_SHA_256.
 */
export async function publicJwkFromKms(client: KMSClient, keyId: string): Promise<JWK> {
  const key = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!key.PublicKey) throw new KmsKeyError(`KMS returned no public key for ${keyId}`);
  if (key.KeySpec !== 'ECC_NIST_P256' || !key.SigningAlgorithms?.includes('ECDSA_SHA_256')) {
    throw new KmsKeyError(
      `key ${keyId} is ${key.KeySpec ?? 'of an unknown spec'}; receipts need an ECC_NIST_P256 key signing with ECDSA_SHA_256`,
    );
  }
  const jwk = createPublicKey({ key: Buffer.from(key.PublicKey), format: 'der', type: 'spki' }).export({
    format: 'jwk',
  });
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: keyId, alg: 'ES256', use: 'sig' };
}
