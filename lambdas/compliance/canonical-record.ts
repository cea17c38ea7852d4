import type { AuditRecord } from '../core/audit';
import { canonicalJson } from '../core/canonical';

/**
 * RFC 8785 canonical JSON of a plain JSON value, byte for byte what `canonicalJson` gives, written
 * with loops instead of the generic library's reduce and template strings: it runs on every record
 * of a trail. Only for values freshly parsed from JSON (no undefined, no functions, no toJSON).
 */
export function canonicalPlainJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) text += ',';
      text += canonicalPlainJson(value[index]);
    }
    return `${text}]`;
  }
  const object = value as Record<string, unknown>;
  // Default sort order compares UTF-16 code units, which is the order RFC 8785 asks for.
  const keys = Object.keys(object).sort();
  let text = '{';
  for (let index = 0; index < keys.length; index += 1) {
    if (index > 0) text += ',';
    text += `${JSON.stringify(keys[index])}:${canonicalPlainJson(object[keys[index]])}`;
  }
  return `${text}}`;
}

/** The fields a record has, sorted as in its canonical form; `hash` is not part of what is hashed. */
const RECORD_KEYS: ReadonlySet<string> = new Set([
  'actor',
  'at',
  'details',
  'hash',
  'parametersHash',
  'prevHash',
  'requestId',
  'seq',
  'type',
]);

/** True when the record has no fields beyond the known ones and its actor is exactly `{ id, kind }`. */
function hasKnownShape(record: AuditRecord): boolean {
  for (const key in record) if (!RECORD_KEYS.has(key)) return false;
  let actorKeys = 0;
  for (const key in record.actor) {
    if (key !== 'id' && key !== 'kind') return false;
    actorKeys += 1;
  }
  return actorKeys === 2;
}

/**
 * The canonical JSON a record's hash is taken over: the record without `hash`. Records of the
 * shape the writers produce are laid out field by field in canonical key order; any other
 * record (a field this version does not know) goes through the generic canonicalizer, so the
 * result is `canonicalJson` of the unsealed record either way.
 */
export function unsealedCanonicalJson(record: AuditRecord): string {
  if (!hasKnownShape(record)) {
    const { hash: _hash, ...unsealed } = record;
    return canonicalJson(unsealed);
  }
  const { actor, details, parametersHash } = record;
  let text = `{"actor":{"id":${JSON.stringify(actor.id)},"kind":${JSON.stringify(actor.kind)}},"at":${JSON.stringify(record.at)}`;
  if (details !== undefined) text += `,"details":${canonicalPlainJson(details)}`;
  if (parametersHash !== undefined) text += `,"parametersHash":${JSON.stringify(parametersHash)}`;
  return `${text},"prevHash":${JSON.stringify(record.prevHash)},"requestId":${JSON.stringify(record.requestId)},"seq":${JSON.stringify(record.seq)},"type":${JSON.stringify(record.type)}}`;
}
