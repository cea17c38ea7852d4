import { compactVerify, importJWK, type JWK } from 'jose';
import * as z from 'zod';
import { onFirstUse } from './on-first-use';
import { err, ok, type Result } from './result';

export const RECEIPT_ISSUER = 'action-approvals';
export const RECEIPT_TYPE = 'approval-receipt+jwt';

/** The signed statement that one action on one resource was approved, by whom, and until when. */
export interface ApprovalReceipt {
  readonly requestId: string;
  readonly agentId: string;
  readonly operation: string;
  readonly resource: string;
  readonly parametersHash: string;
  readonly reviewers: readonly string[];
  readonly decision: 'approved';
  readonly decidedAt: string;
  readonly expiresAt: string;
}

// Only the verifier reads it; the functions that sign never build it.
const receiptSchema = onFirstUse(() =>
  z.strictObject({
    iss: z.literal(RECEIPT_ISSUER),
    requestId: z.string(),
    agentId: z.string(),
    operation: z.string(),
    resource: z.string(),
    parametersHash: z.string().regex(/^[0-9a-f]{64}$/),
    reviewers: z.array(z.string()).min(1),
    decision: z.literal('approved'),
    decidedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  }),
);

/**
 * Produces ES256 signatures. A KMS key signs in AWS and a local key in local mode; the
 * private key never has to be in this process.
 */
export interface Signer {
  readonly keyId: string;
  /** The raw (IEEE P1363, r‖s) ECDSA P-256 signature over SHA-256 of `data`. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

const base64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/** Signs the receipt as a compact JWS. */
export async function signReceipt(receipt: ApprovalReceipt, signer: Signer): Promise<string> {
  const header = base64url(JSON.stringify({ alg: 'ES256', kid: signer.keyId, typ: RECEIPT_TYPE }));
  const payload = base64url(JSON.stringify({ iss: RECEIPT_ISSUER, ...receipt }));
  const signingInput = `${header}.${payload}`;
  const signature = await signer.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}

// Importing a JWK costs far more than checking one signature; an audit checks thousands of
// receipts against one key, so each key object is imported once.
const importedKeys = new WeakMap<JWK, ReturnType<typeof importJWK>>();

function imported(publicKey: JWK): ReturnType<typeof importJWK> {
  let key = importedKeys.get(publicKey);
  if (!key) {
    key = importJWK(publicKey, 'ES256');
    importedKeys.set(publicKey, key);
  }
  return key;
}

/**
 * Checks a receipt offline with the public key alone: the signature, the algorithm, and that the
 * payload is a well-formed receipt. Returns the receipt or why it is not one.
 */
export async function verifyReceipt(jws: string, publicKey: JWK): Promise<Result<ApprovalReceipt, string>> {
  let payload: Uint8Array;
  try {
    const key = await imported(publicKey);
    ({ payload } = await compactVerify(jws, key, { algorithms: ['ES256'] }));
  } catch (error) {
    return err(`signature check failed: ${(error as Error).message}`);
  }
  return receiptFromPayload(payload);
}

/**
 * The receipt a JWS payload whose signature was verified holds, or why it is not a well-formed
 * one: for verifiers that check the signature themselves.
 */
export function receiptFromPayload(payload: Uint8Array): Result<ApprovalReceipt, string> {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return err('payload is not JSON');
  }
  const parsed = receiptSchema().safeParse(claims);
  if (!parsed.success) {
    return err(
      `payload is not a receipt: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
    );
  }
  const { iss: _issuer, ...receipt } = parsed.data;
  return ok(receipt);
}
