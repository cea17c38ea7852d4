import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KMSClient } from '@aws-sdk/client-kms';
import { decodeProtectedHeader, type JWK } from 'jose';
import type { AuditRecord } from '../core/audit';
import { type ApprovalReceipt, receiptFromPayload, verifyReceipt } from '../core/receipt';
import { err, ok, type Result } from '../core/result';

/** Checks one compact JWS with the trusted keys; the receipt, or why it is not a valid one. */
export type ReceiptCheck = (jws: string) => Promise<Result<ApprovalReceipt, string>>;

const isJwk = (value: unknown): value is JWK =>
  typeof value === 'object' && value !== null && typeof (value as { kty?: unknown }).kty === 'string';

/** Reads a public JWK, or a JWK set (`{"keys": […]}`) so receipts signed before a key rotation still verify. */
export async function readJwkFile(path: string): Promise<Result<JWK[], string>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    return err(`${path}: ${(error as Error).message}`);
  }
  if (isJwk(value)) return ok([value]);
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (Array.isArray(keys) && keys.length > 0 && keys.every(isJwk)) return ok(keys);
  return err(`${path}: expected a JWK or a JWK set`);
}

/**
 * Fetches the public half of the KMS signing key, so receipts verify offline from then on. Only a
 * P-256 signing key can have produced ES256 receipts; anything else is refused before it could make
 * every receipt look forged.
 */
export async function kmsPublicJwk(kms: KMSClient, keyId: string): Promise<Result<JWK, string>> {
  // Loaded only here: most verifications use a key file and never need the KMS SDK.
  const { GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
  try {
    const key = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    if (key.KeySpec !== 'ECC_NIST_P256' || key.KeyUsage !== 'SIGN_VERIFY' || !key.PublicKey) {
      return err(
        `KMS key ${keyId} is ${key.KeySpec ?? 'of unknown spec'} for ${key.KeyUsage ?? 'unknown use'}; receipts need an ECC_NIST_P256 SIGN_VERIFY key`,
      );
    }
    const jwk = createPublicKey({ key: Buffer.from(key.PublicKey), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    });
    return ok({ ...(jwk as JWK), kid: key.KeyId ?? keyId, alg: 'ES256' });
  } catch (error) {
    return err(`KMS key ${keyId}: ${(error as Error).message}`);
  }
}

/** base64url without padding, in a length jose's decoder accepts: Buffer decodes it to the same bytes. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Header fields a receipt carries; a header with any other (crit, b64, jwk, …) is left to jose. */
const PLAIN_HEADER_FIELDS: ReadonlySet<string> = new Set(['alg', 'kid', 'typ']);

/** A compact JWS split for node:crypto: only the ES256 shape every receipt has, else undefined. */
function plainEs256(jws: string): { signingInput: string; payload: Buffer; signature: Buffer } | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part) && part.length % 4 !== 1))
    return undefined;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  if (!Object.keys(header).every((field) => PLAIN_HEADER_FIELDS.has(field))) return undefined;
  if ((header as { alg?: unknown }).alg !== 'ES256') return undefined;
  const signature = Buffer.from(parts[2], 'base64url');
  // ES256 signatures are r‖s, 32 bytes each; jose says what is wrong with any other.
  if (signature.length !== 64) return undefined;
  return { signingInput: `${parts[0]}.${parts[1]}`, payload: Buffer.from(parts[1], 'base64url'), signature };
}

/** The key as node:crypto uses it, for a plain P-256 public JWK; jose handles any other. */
function plainP256Key(jwk: JWK): KeyObject | undefined {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.d !== undefined || jwk.key_ops !== undefined)
    return undefined;
  if (jwk.alg !== undefined && jwk.alg !== 'ES256') return undefined;
  try {
    return createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/**
 * Synchronous on purpose: handing one signature check to libuv's thread pool costs the calling
 * thread more than the check itself.
 */
function validSignature(signingInput: string, key: KeyObject, signature: Buffer): boolean {
  try {
    return verifySignature(
      'sha256',
      Buffer.from(signingInput, 'ascii'),
      { key, dsaEncoding: 'ieee-p1363' },
      signature,
    );
  } catch {
    return false;
  }
}

/**
 * Checks one receipt with one key as `verifyReceipt` does, with the same acceptance rules: the
 * plain shape every receipt has (an ES256 header of alg, kid and typ; a P-256 public key) is
 * verified with node:crypto directly, a check an audit makes tens of thousands of times; anything
 * else goes through jose.
 */
async function verifyWith(
  jws: string,
  jwk: JWK,
  key: KeyObject | undefined,
): Promise<Result<ApprovalReceipt, string>> {
  const plain = key === undefined ? undefined : plainEs256(jws);
  if (key === undefined || plain === undefined) return verifyReceipt(jws, jwk);
  if (!validSignature(plain.signingInput, key, plain.signature))
    return err('signature check failed: signature verification failed');
  return receiptFromPayload(plain.payload);
}

/** A check that tries the key the receipt names (`kid`) first, then every other trusted key. */
export function receiptChecker(keys: readonly JWK[]): ReceiptCheck {
  const imported = new Map(keys.map((jwk) => [jwk, plainP256Key(jwk)]));
  return async (jws) => {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(jws).kid;
    } catch {
      return err('not a compact JWS');
    }
    const named = keys.filter((key) => key.kid !== undefined && key.kid === kid);
    const candidates = [...named, ...keys.filter((key) => !named.includes(key))];
    let last: Result<ApprovalReceipt, string> = err('no trusted key');
    for (const key of candidates) {
      last = await verifyWith(jws, key, imported.get(key));
      if (last.ok) return last;
    }
    return last;
  };
}

/** What the chain says was asked for: a receipt must bind exactly this. */
export interface ReceiptBinding {
  readonly agentId: string | undefined;
  readonly operation: string | undefined;
  readonly resource: string | undefined;
  readonly parametersHash: string | undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The binding a `requested` record establishes: its agent, `details.operation`, `details.resource` and parameters hash. */
export function bindingOf(requested: AuditRecord): ReceiptBinding {
  return {
    agentId: requested.actor.kind === 'agent' ? requested.actor.id : undefined,
    operation: text(requested.details?.operation),
    resource: text(requested.details?.resource),
    parametersHash: requested.parametersHash,
  };
}

/** Every way a genuine receipt differs from what the chain requested; empty when it matches. */
export function bindingMismatches(receipt: ApprovalReceipt, binding: ReceiptBinding): string[] {
  const fields = ['agentId', 'operation', 'resource', 'parametersHash'] as const;
  return fields
    .filter((field) => receipt[field] !== binding[field])
    .map(
      (field) =>
        `${field} is ${JSON.stringify(receipt[field])} in the receipt but ${JSON.stringify(binding[field] ?? null)} in the requested record`,
    );
}

/** What an `executed` record says that its receipt must agree with. */
export type ExecutionFacts = Pick<AuditRecord, 'requestId' | 'at' | 'parametersHash'>;

/** How a genuine receipt disagrees with the `executed` record that carries it; empty when it matches. */
export function executionMismatches(receipt: ApprovalReceipt, executed: ExecutionFacts): string[] {
  const problems: string[] = [];
  if (receipt.requestId !== executed.requestId)
    problems.push(`the receipt is for request ${receipt.requestId}`);
  if (receipt.parametersHash !== executed.parametersHash) {
    problems.push(
      `parametersHash is ${receipt.parametersHash} in the receipt but ${executed.parametersHash ?? 'absent'} in the executed record`,
    );
  }
  const at = Date.parse(executed.at);
  if (at < Date.parse(receipt.decidedAt))
    problems.push(`executed at ${executed.at}, before the approval at ${receipt.decidedAt}`);
  if (at > Date.parse(receipt.expiresAt))
    problems.push(`executed at ${executed.at}, after the approval expired at ${receipt.expiresAt}`);
  return problems;
}

/** What the chain says about the decision a receipt attests: read from its approved, vote and credentials-issued records. */
export interface DecisionFacts {
  /** The `approved` record: when, and whom it names (`details.reviewers`) and until when (`details.expiresAt`), if it does. */
  readonly approval?: {
    readonly at: string;
    readonly reviewers?: readonly string[];
    readonly expiresAt?: string;
  };
  /** Reviewers whose approving vote counted. */
  readonly approvers: readonly string[];
  /** `details.expiresAt` of a `credentials-issued` record, when it carries one. */
  readonly credentialsExpiresAt?: string;
}

/** Approvers that are policies rather than people (`policy:<id>`): they cast no vote. */
const isPolicyApprover = (reviewer: string): boolean => reviewer.startsWith('policy:');

const sameMembers = (a: readonly string[], b: readonly string[]): boolean => {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((value, index) => value === right[index]);
};

const sameTime = (a: string, b: string): boolean => Date.parse(a) === Date.parse(b);

/**
 * Every way a genuine receipt disagrees with the decision the chain records. The receipt was signed
 * with a key in KMS that no one who can rewrite the table or the archive can use, so where they
 * differ the chain was rewritten: who approved, when, and until when are read from the receipt.
 */
export function decisionMismatches(receipt: ApprovalReceipt, facts: DecisionFacts): string[] {
  const { approval } = facts;
  if (!approval) return [`the receipt says ${receipt.decision} but the chain holds no approved record`];
  const problems: string[] = [];
  if (!sameTime(receipt.decidedAt, approval.at))
    problems.push(
      `decidedAt is ${receipt.decidedAt} in the receipt but the approved record is at ${approval.at}`,
    );
  if (approval.reviewers !== undefined && !sameMembers(receipt.reviewers, approval.reviewers)) {
    problems.push(
      `the receipt names ${JSON.stringify(receipt.reviewers)} as approvers but the approved record ${JSON.stringify(approval.reviewers)}`,
    );
  }
  const people = receipt.reviewers.filter((reviewer) => !isPolicyApprover(reviewer));
  if (!sameMembers(people, facts.approvers)) {
    problems.push(
      `the receipt names ${JSON.stringify(people)} as approving reviewers but the chain's counted approving votes are by ${JSON.stringify(facts.approvers)}`,
    );
  }
  for (const [where, expiresAt] of [
    ['approved', approval.expiresAt],
    ['credentials-issued', facts.credentialsExpiresAt],
  ] as const) {
    if (expiresAt !== undefined && !sameTime(receipt.expiresAt, expiresAt))
      problems.push(
        `expiresAt is ${receipt.expiresAt} in the receipt but ${expiresAt} in the ${where} record`,
      );
  }
  return problems;
}
