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
        `reasons:struct<l:array<${s}>>`,
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
    coalesce(array_join(transform(item.details.m.reasons.l, r -> r.s), '; '), item.details.m.reason.s) AS reason,
    item.details.m.receipt.s AS receipt,
    item.details.m.claimedrequestid.s AS claimed_request_id
  FROM ${table}
  WHERE item IS NOT NULL AND item.requestid.s IS NOT NULL
)`;
}

const REQUESTED = `requested AS (
  SELECT request_id, actor_id AS agent, operation, resource, at AS requested_at FROM records WHERE type = 'requested'
)`;

/**
 * Said by every saved query over the exports: the exports bucket expires exports after the export
 * retention, so those queries see only that window; the stream archive holds all history.
 */
export const EXPORT_WINDOW_NOTE =
  'Covers only the exports still kept (the export retention window); for all history, query the stream archive (audit_archive in docs/COMPLIANCE.md).';

/** The named queries over the exports table, in the order the Athena console lists them. */
export function auditQueries(database: string, tableName: string): AuditQuery[] {
  const table = `"${database}"."${tableName}"`;
  return exportQueries(table).map((query) => ({
    ...query,
    description: `${query.description} ${EXPORT_WINDOW_NOTE}`,
  }));
}

function exportQueries(table: string): AuditQuery[] {
  return [
    {
      name: 'every-action-by-agent',
      description:
        'Every action each agent asked for, with how its request ended (rejected requests included, with their reasons).',
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
        'Requests denied by a reviewer, denied by policy or the system (for example because their parameters changed), or expired without a decision; ended_by tells which.',
      sql: `WITH ${records(table)},
${REQUESTED}
SELECT
  CASE
    WHEN e.type = 'expired' THEN 'expired: no decision before the deadline'
    WHEN e.actor_kind = 'reviewer' THEN 'denied by a reviewer'
    ELSE 'denied by policy or the system'
  END AS ended_by,
  CASE WHEN e.type = 'denied' AND e.actor_kind = 'reviewer' THEN e.actor_id END AS reviewer,
  e.request_id, e.at, e.reason, q.agent, q.operation, q.resource
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

/** The key prefix of the stream archive in its bucket (see lambdas/adapters/archive-writer.ts). */
const ARCHIVE_LOCATION_PREFIX = 'archive/';

/**
 * The Athena DDL for the stream archive: plain JSON records under
 * `archive/year=YYYY/month=MM/day=DD/`, partitions projected so no crawler is needed. It covers
 * every record ever written (the archive is kept under Object Lock for the archive retention),
 * where the exports table covers only the exports still kept.
 */
export function archiveTableDdl(database: string, tableName: string, archiveBucket: string): string {
  const location = `s3://${archiveBucket}/${ARCHIVE_LOCATION_PREFIX}`;
  return `CREATE EXTERNAL TABLE \`${database}\`.\`${tableName}\` (
  requestid string, seq int, \`at\` string, type string,
  actor struct<kind:string, id:string>,
  parametershash string, details string, prevhash string, hash string
)
PARTITIONED BY (year string, month string, day string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION '${location}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.year.type' = 'integer', 'projection.year.range' = '2025,2099',
  'projection.month.type' = 'integer', 'projection.month.range' = '1,12', 'projection.month.digits' = '2',
  'projection.day.type' = 'integer', 'projection.day.range' = '1,31', 'projection.day.digits' = '2',
  'storage.location.template' = '${location}year=\${year}/month=\${month}/day=\${day}/'
)`;
}

/** A query over the archive table: all history, each record once (the stream delivers at least once). */
export function archiveQueries(database: string, tableName: string): AuditQuery[] {
  const table = `"${database}"."${tableName}"`;
  return [
    {
      name: 'all-history-every-action-by-agent',
      description:
        'Every action each agent asked for and how it ended, over all history: reads the stream archive, not the exports.',
      sql: `WITH records AS (
  SELECT DISTINCT requestid, seq, "at", type, actor.kind AS actor_kind, actor.id AS actor_id, details FROM ${table}
)
SELECT r.actor_id AS agent, r.requestid AS request_id, r."at" AS requested_at,
       json_extract_scalar(r.details, '$.operation') AS operation,
       json_extract_scalar(r.details, '$.resource') AS resource,
       t.type AS outcome, t."at" AS ended_at,
       coalesce(array_join(CAST(json_extract(t.details, '$.reasons') AS array(varchar)), '; '),
                json_extract_scalar(t.details, '$.reason')) AS reason
FROM records r
LEFT JOIN records t
  ON t.requestid = r.requestid AND t.type IN ('executed', 'failed', 'denied', 'expired', 'rejected')
WHERE r.type = 'requested'
ORDER BY agent, requested_at`,
    },
  ];
}
