/**
 * The Glue schema of a DynamoDB PITR export in DYNAMODB_JSON format, and the Athena queries a
 * compliance team runs over it.
 *
 * Each line of an export data file is `{"Item": {<attribute>: {<type>: <value>}}}`: strings under
 * `S`, numbers under `N` (as strings), maps under `M`, lists under `L`. The OpenX JSON SerDe maps
 * keys case-insensitively, so `Item.requestId.S` is read as `item.requestid.s`. Only the fields
 * the queries read are declared; the rest of each record is ignored by the SerDe.
 */

const s = 'struct<s:string>';
const n = 'struct<n:string>';

/** The single column of the export table: the item, as DynamoDB JSON. */
export const EXPORT_ITEM_TYPE =
  'struct<' +
  [
    `requestid:${s}`,
    `seq:${n}`,
    `at:${s}`,
    `type:${s}`,
    `actor:struct<m:struct<kind:${s},id:${s}>>`,
    `parametershash:${s}`,
    `prevhash:${s}`,
    `hash:${s}`,
    'details:struct<m:struct<' +
      [
        `operation:${s}`,
        `resource:${s}`,
        `justification:${s}`,
        `decision:${s}`,
        `channel:${s}`,
        `caller:${s}`,
        `refusal:${s}`,
        `reason:${s}`,
        `receipt:${s}`,
        `claimedrequestid:${s}`,
        `reviewers:struct<l:array<${s}>>`,
      ].join(',') +
      '>>',
  ].join(',') +
  '>';

/** A named query as Athena stores it. */
export interface AuditQuery {
  /** Unique within the workgroup; shown in the Athena console's saved queries. */
  readonly name: string;
  /** What the query answers. */
  readonly description: string;
  /** The SQL, for the given database and table. */
  readonly sql: string;
}

/**
 * One row per audit record, the same record counted once: the exports bucket holds a full export
 * per schedule run, so every record appears in every later export; and the manifest files beside
 * the data files read as rows without an item, which are dropped.
 */
function records(table: string): string {
  return `records AS (
  SELECT DISTINCT
    item.requestid.s AS request_id,
    CAST(item.seq.n AS bigint) AS seq,
    item."at".s AS at,
    item."type".s AS type,
    item.actor.m.kind.s AS actor_kind,
    item.actor.m.id.s AS actor_id,
    item.details.m.operation.s AS operation,
    item.details.m.resource.s AS resource,
    item.details.m.decision.s AS decision,
    item.details.m.channel.s AS channel,
    item.details.m.refusal.s AS refusal,
    item.details.m.reason.s AS reason,
    item.details.m.receipt.s AS receipt,
    item.details.m.claimedrequestid.s AS claimed_request_id
  FROM ${table}
  WHERE item IS NOT NULL AND item.requestid.s IS NOT NULL
)`;
}

const REQUESTED = `requested AS (
  SELECT request_id, actor_id AS agent, operation, resource, at AS requested_at FROM records WHERE type = 'requested'
)`;

/** The named queries, in the order the Athena console lists them. */
export function auditQueries(database: string, tableName: string): AuditQuery[] {
  const table = `"${database}"."${tableName}"`;
  return [
    {
      name: 'every-action-by-agent',
      description:
        'Every action each agent asked for, with how its request ended (rejected requests included).',
      sql: `WITH ${records(table)},
${REQUESTED},
ended AS (
  SELECT request_id, type AS outcome, at AS ended_at, reason FROM records
  WHERE type IN ('rejected', 'denied', 'expired', 'executed', 'failed')
)
SELECT q.agent, q.request_id, q.operation, q.resource, q.requested_at, e.outcome, e.ended_at, e.reason
FROM requested q LEFT JOIN ended e ON e.request_id = q.request_id
UNION ALL
SELECT r.actor_id AS agent, r.request_id, NULL, NULL, r.at, 'rejected', r.at, r.reason
FROM records r
WHERE r.type = 'rejected' AND r.actor_kind = 'agent' AND r.request_id NOT IN (SELECT request_id FROM requested)
ORDER BY agent, requested_at`,
    },
    {
      name: 'every-approval-by-reviewer',
      description:
        'Every approving vote, by reviewer: counted or refused, through which channel, for which action.',
      sql: `WITH ${records(table)},
${REQUESTED}
SELECT v.actor_id AS reviewer, v.request_id, v.at AS voted_at, v.channel, v.refusal, q.agent, q.operation, q.resource
FROM records v LEFT JOIN requested q ON q.request_id = v.request_id
WHERE v.type = 'vote' AND v.decision = 'approve'
ORDER BY reviewer, voted_at`,
    },
    {
      name: 'denials-and-expiries',
      description:
        'Requests denied (by policy, by a reviewer, or because their parameters changed) or expired without a decision.',
      sql: `WITH ${records(table)},
${REQUESTED}
SELECT e.type AS outcome, e.request_id, e.at, e.actor_kind, e.actor_id, e.reason, q.agent, q.operation, q.resource
FROM records e LEFT JOIN requested q ON q.request_id = e.request_id
WHERE e.type IN ('denied', 'expired')
ORDER BY e.at`,
    },
    {
      name: 'self-approval-attempts',
      description:
        'Votes refused because the reviewer was the requester or a registered owner of the requesting agent.',
      sql: `WITH ${records(table)},
${REQUESTED}
SELECT v.actor_id AS reviewer, v.refusal, v.request_id, v.at AS voted_at, v.channel, q.agent, q.operation, q.resource
FROM records v LEFT JOIN requested q ON q.request_id = v.request_id
WHERE v.type = 'vote' AND v.refusal IN ('self-approval', 'owner-approval')
ORDER BY v.at`,
    },
    {
      name: 'executed-without-receipt',
      description: 'Executed actions whose record carries no signed approval receipt. Must return no rows.',
      sql: `WITH ${records(table)},
${REQUESTED}
SELECT x.request_id, x.at AS executed_at, q.agent, q.operation, q.resource
FROM records x LEFT JOIN requested q ON q.request_id = x.request_id
WHERE x.type = 'executed' AND (x.receipt IS NULL OR x.receipt = '')
ORDER BY x.at`,
    },
  ];
}
