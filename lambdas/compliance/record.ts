import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { NumberValueImpl, unmarshall } from '@aws-sdk/util-dynamodb';
import { AUDIT_RECORD_TYPES, type AuditRecord } from '../core/audit';
import { err, ok, type Result } from '../core/result';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const RECORD_TYPES: ReadonlySet<string> = new Set(AUDIT_RECORD_TYPES);
const ACTOR_KINDS: ReadonlySet<string> = new Set(['agent', 'reviewer', 'system']);
/** What the writers produce (`Date.prototype.toISOString`); `Date.parse` alone would take "0" for the year 2000. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** Record times are kept as unsigned 32-bit seconds: from 1970 to early 2106. */
const LATEST_TIME_MS = 2 ** 32 * 1000 - 1;
/** JSON's number grammar: what a DynamoDB `N` written from a JavaScript number looks like. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** Deeper than any record the project writes; bounds the recursion on hostile input. */
const MAX_DEPTH = 32;

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

const describe = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (value instanceof Set) return 'a set';
  if (value instanceof NumberValueImpl) return value.value.slice(0, 80);
  try {
    return String(JSON.stringify(value)).slice(0, 80);
  } catch {
    return typeof value;
  }
};

/** A record time in the range a slot can hold, or why not. */
export function recordTimeMs(at: unknown): Result<number, string> {
  if (typeof at !== 'string' || !ISO_TIME.test(at))
    return err(`at: expected an ISO-8601 time, got ${describe(at)}`);
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) return err(`at: not a time: ${describe(at)}`);
  if (ms < 0 || ms > LATEST_TIME_MS) return err(`at: ${at} is outside 1970–2106`);
  return ok(ms);
}

/** Why a number cannot be hashed as the writer hashed it, or undefined. */
function numberProblem(number: number, spelling: string): string | undefined {
  if (!Number.isFinite(number)) return `${spelling.slice(0, 40)} is not a finite number`;
  if (Number.isInteger(number) && !Number.isSafeInteger(number))
    return `${spelling.slice(0, 40)} is beyond 2^53 and cannot be read exactly`;
  return undefined;
}

/** A number read with `wrapNumbers`, as the JavaScript number the writer hashed, or why it cannot be one. */
function unwrapNumber(value: NumberValueImpl, path: string): Result<number, string> {
  if (!JSON_NUMBER.test(value.value)) return err(`${path}: N is not a number: ${describe(value)}`);
  const number = Number(value.value);
  const problem = numberProblem(number, value.value);
  return problem === undefined ? ok(number) : err(`${path}: ${problem}`);
}

/** Why one member of a container cannot be part of a sealed record; numbers read as text are unwrapped in place. */
function memberProblem(
  container: Record<string, unknown> | unknown[],
  key: string | number,
  item: unknown,
  path: string,
  depth: number,
): string | undefined {
  if (item instanceof NumberValueImpl) {
    const number = unwrapNumber(item, path);
    if (!number.ok) return number.error;
    (container as Record<string | number, unknown>)[key] = number.value;
    return undefined;
  }
  return jsonProblem(item, path, depth + 1);
}

/**
 * Checks, in place and without copying, that a freshly parsed value is plain JSON a writer can have
 * sealed: finite numbers within 2^53, no sets or binary (DynamoDB `SS`/`NS`/`BS`/`B`), no
 * `__proto__` key. Numbers read with `wrapNumbers` are replaced by JavaScript numbers once they are
 * known to be exact. The value must be the caller's own (just parsed): it may be changed.
 */
function jsonProblem(value: unknown, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    const problem = numberProblem(value, String(value));
    return problem === undefined ? undefined : `${path}: ${problem}`;
  }
  if (value instanceof Set) return `${path}: a set where a map, list or scalar is expected`;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const problem = memberProblem(value, index, value[index], `${path}[${index}]`, depth);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (isPlainObject(value)) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (key === '__proto__') return `${path}: the key __proto__ is not allowed`;
      const problem = memberProblem(value, key, value[key], `${path}.${key}`, depth);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return `${path}: ${describe(value)} is not JSON`;
}

/**
 * Checks that a decoded line has the shape of an audit record. Fields this version does not know
 * are kept: they are part of what was sealed, so they must stay in what is hashed. Hand-written
 * rather than a schema because it runs once per record on millions of records.
 */
export function toAuditRecord(decoded: unknown): Result<AuditRecord, string> {
  if (!isPlainObject(decoded)) return err(`expected an audit record object, got ${describe(decoded)}`);
  const problem = jsonProblem(decoded, 'record', 0);
  if (problem !== undefined) return err(problem);
  const value = decoded;
  const { requestId, seq, at, type, actor, parametersHash, details, prevHash, hash } = value;
  if (typeof requestId !== 'string' || requestId.length === 0) {
    return err(`requestId: expected a non-empty string, got ${describe(requestId)}`);
  }
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return err(`seq: expected a non-negative integer, got ${describe(seq)}`);
  }
  const time = recordTimeMs(at);
  if (!time.ok) return time;
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

/** unmarshall would make a `__proto__` attribute the prototype of its map and drop it unseen. */
const PROTO_KEY = '"__proto__"';

function parseJson(line: string): Result<unknown, string> {
  try {
    return ok(JSON.parse(line));
  } catch (error) {
    return err(`not JSON: ${(error as Error).message}`);
  }
}

/** One line of a stream-archive object: the record as plain JSON. */
export function parseArchiveLine(line: string): Result<AuditRecord, string> {
  const value = parseJson(line);
  return value.ok ? toAuditRecord(value.value) : value;
}

/** An item in DynamoDB JSON, as a record; numbers are read as text first so none is rounded unseen. */
export function unmarshallRecord(item: unknown, what: string): Result<AuditRecord, string> {
  if (!isPlainObject(item)) return err(`expected ${what} to be a DynamoDB JSON map`);
  let decoded: unknown;
  try {
    decoded = unmarshall(item as Record<string, AttributeValue>, { wrapNumbers: true });
  } catch (error) {
    return err(`${what} is not DynamoDB JSON: ${(error as Error).message}`);
  }
  return toAuditRecord(decoded);
}

/** One line of a full DYNAMODB_JSON export data file: `{"Item":{…DynamoDB JSON…}}`. */
export function parseExportLine(line: string): Result<AuditRecord, string> {
  if (line.includes(PROTO_KEY)) return err('the key __proto__ is not allowed');
  const value = parseJson(line);
  if (!value.ok) return value;
  if (!isPlainObject(value.value) || !isPlainObject(value.value.Item))
    return err('expected {"Item": {…}} in DynamoDB JSON');
  return unmarshallRecord(value.value.Item, 'Item');
}

/** A line of an incremental export: a write to the table, by its images before and after. */
export type TableChange =
  | { readonly kind: 'insert'; readonly record: AuditRecord }
  | { readonly kind: 'update'; readonly record: AuditRecord }
  | { readonly kind: 'delete'; readonly requestId: string; readonly seq: number };

/**
 * One line of an incremental export data file:
 * `{"Metadata":{…},"Keys":{…},"NewImage":{…},"OldImage":{…}}`. An insert has no OldImage, a
 * delete no NewImage; with the NEW_IMAGES view type a delete has only Keys and an update looks
 * like an insert.
 */
export function parseIncrementalLine(line: string): Result<TableChange, string> {
  if (line.includes(PROTO_KEY)) return err('the key __proto__ is not allowed');
  const value = parseJson(line);
  if (!value.ok) return value;
  const entry = value.value;
  if (!isPlainObject(entry) || !isPlainObject(entry.Keys))
    return err('expected {"Keys": {…}, "NewImage"?: {…}, "OldImage"?: {…}} in DynamoDB JSON');
  const { NewImage, OldImage } = entry;
  if (NewImage !== undefined) {
    const after = unmarshallRecord(NewImage, 'NewImage');
    if (!after.ok) return after;
    return ok({ kind: OldImage === undefined ? 'insert' : 'update', record: after.value });
  }
  let keys: unknown;
  try {
    keys = unmarshall(entry.Keys as Record<string, AttributeValue>, { wrapNumbers: true });
  } catch (error) {
    return err(`Keys is not DynamoDB JSON: ${(error as Error).message}`);
  }
  const problem = jsonProblem(keys, 'Keys', 0);
  if (problem !== undefined) return err(problem);
  const { requestId, seq } = keys as Record<string, unknown>;
  if (typeof requestId !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    return err(`Keys: expected requestId and seq, got ${describe(keys)}`);
  return ok({ kind: 'delete', requestId, seq });
}
