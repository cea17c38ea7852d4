import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AUDIT_RECORD_TYPES, type AuditRecord } from '../core/audit';
import { err, ok, type Result } from '../core/result';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const RECORD_TYPES: ReadonlySet<string> = new Set(AUDIT_RECORD_TYPES);
const ACTOR_KINDS: ReadonlySet<string> = new Set(['agent', 'reviewer', 'system']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const describe = (value: unknown): string =>
  value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 80);

/**
 * Checks that a decoded line has the shape of an audit record. The value itself is returned, not a
 * copy: fields this version does not know are part of what was sealed, so they must stay in what is
 * hashed. Hand-written rather than a schema because it runs once per record on millions of records.
 */
export function toAuditRecord(value: unknown): Result<AuditRecord, string> {
  if (!isPlainObject(value)) return err(`expected an audit record object, got ${describe(value)}`);
  const { requestId, seq, at, type, actor, parametersHash, details, prevHash, hash } = value;
  if (typeof requestId !== 'string' || requestId.length === 0) {
    return err(`requestId: expected a non-empty string, got ${describe(requestId)}`);
  }
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return err(`seq: expected a non-negative integer, got ${describe(seq)}`);
  }
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at)))
    return err(`at: expected a timestamp, got ${describe(at)}`);
  if (typeof type !== 'string' || !RECORD_TYPES.has(type))
    return err(`type: not a record type: ${describe(type)}`);
  if (
    !isPlainObject(actor) ||
    typeof actor.kind !== 'string' ||
    !ACTOR_KINDS.has(actor.kind) ||
    typeof actor.id !== 'string'
  ) {
    return err(`actor: expected { kind, id }, got ${describe(actor)}`);
  }
  if (parametersHash !== undefined && typeof parametersHash !== 'string') {
    return err(`parametersHash: expected a string, got ${describe(parametersHash)}`);
  }
  if (details !== undefined && !isPlainObject(details))
    return err(`details: expected an object, got ${describe(details)}`);
  if (typeof prevHash !== 'string' || !HEX_SHA256.test(prevHash)) {
    return err(`prevHash: expected 64 hex digits, got ${describe(prevHash)}`);
  }
  if (typeof hash !== 'string' || !HEX_SHA256.test(hash))
    return err(`hash: expected 64 hex digits, got ${describe(hash)}`);
  return ok(value as unknown as AuditRecord);
}

/** One line of a stream-archive object: the record as plain JSON. */
export function parseArchiveLine(line: string): Result<AuditRecord, string> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return err(`not JSON: ${(error as Error).message}`);
  }
  return toAuditRecord(value);
}

/** One line of a DYNAMODB_JSON export data file: `{"Item":{…DynamoDB JSON…}}`. */
export function parseExportLine(line: string): Result<AuditRecord, string> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return err(`not JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(value) || !isPlainObject(value.Item))
    return err('expected {"Item": {…}} in DynamoDB JSON');
  let item: Record<string, unknown>;
  try {
    item = unmarshall(value.Item as Record<string, AttributeValue>);
  } catch (error) {
    return err(`Item is not DynamoDB JSON: ${(error as Error).message}`);
  }
  return toAuditRecord(item);
}
