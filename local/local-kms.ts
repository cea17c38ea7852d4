import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * The local stand-in for the receipt-signing KMS key: an ECC_NIST_P256 SIGN_VERIFY key held in
 * memory, answering Sign and GetPublicKey as KMS does (DER signatures, SPKI public key), so the
 * product's KMS signer runs unchanged.
 */
export class LocalKms {
  private readonly keys = new Map<string, KeyObject>();

  sign(body: Record<string, unknown>): Record<string, unknown> {
    const keyId = String(body.KeyId ?? '');
    if (body.SigningAlgorithm !== 'ECDSA_SHA_256') throw new Error('only ECDSA_SHA_256 is available locally');
    const message = Buffer.from(String(body.Message ?? ''), 'base64');
    // node:crypto cannot sign a digest computed elsewhere with ECDSA; receipts are far below
    // KMS's 4 KiB RAW limit, so the signer never sends one locally.
    if (body.MessageType === 'DIGEST') throw new Error('MessageType DIGEST is not available locally');
    const signature = sign('sha256', message, { key: this.key(keyId), dsaEncoding: 'der' });
    return { KeyId: keyId, Signature: signature.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' };
  }

  getPublicKey(body: Record<string, unknown>): Record<string, unknown> {
    const keyId = String(body.KeyId ?? '');
    return {
      KeyId: keyId,
      PublicKey: createPublicKey(this.key(keyId)).export({ format: 'der', type: 'spki' }).toString('base64'),
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    };
  }

  private key(keyId: string): KeyObject {
    let key = this.keys.get(keyId);
    if (!key) {
      key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      this.keys.set(keyId, key);
    }
    return key;
  }
}
