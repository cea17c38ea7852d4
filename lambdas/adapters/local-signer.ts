import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { JWK } from 'jose';
import type { Signer } from '../core/receipt';

/** Signs receipts with a P-256 key held in this process: for local mode and tests. */
export class LocalSigner implements Signer {
  private constructor(
    readonly keyId: string,
    private readonly privateKey: KeyObject,
  ) {}

  static generate(keyId = 'local-receipt-key'): LocalSigner {
    return new LocalSigner(keyId, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  }

  static fromPrivateJwk(jwk: JWK, keyId = jwk.kid ?? 'local-receipt-key'): LocalSigner {
    return new LocalSigner(keyId, createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }));
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return sign('sha256', data, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  publicJwk(): JWK {
    return {
      ...(createPublicKey(this.privateKey).export({ format: 'jwk' }) as JWK),
      kid: this.keyId,
      alg: 'ES256',
    };
  }

  privateJwk(): JWK {
    return { ...(this.privateKey.export({ format: 'jwk' }) as JWK), kid: this.keyId };
  }
}
