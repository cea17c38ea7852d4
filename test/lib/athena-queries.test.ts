import { ARCHIVE_PREFIX } from '../../lambdas/adapters/archive-writer';
import {
  archiveQueries,
  archiveTableDdl,
  auditQueries,
  EXPORT_ITEM_TYPE,
  EXPORT_WINDOW_NOTE,
} from '../../lib/athena-queries';

const queries = auditQueries('audit_db', 'audit_exports');
const byName = (name: string) => queries.find((query) => query.name === name);

describe('Function: auditQueries', () => {
  it('says in every saved query over the exports that it covers only the export retention window', () => {
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) expect(query.description).toContain(EXPORT_WINDOW_NOTE);
  });

  it('tells a reviewer’s denial from a denial by policy and from an expiry', () => {
    const sql = byName('denials-and-expiries')?.sql ?? '';

    expect(sql).toContain("WHEN e.type = 'expired' THEN 'expired: no decision before the deadline'");
    expect(sql).toContain("WHEN e.actor_kind = 'reviewer' THEN 'denied by a reviewer'");
    expect(sql).toContain("ELSE 'denied by policy or the system'");
  });

  it('shows a rejected request’s reasons, which the runtime writes as a list', () => {
    expect(EXPORT_ITEM_TYPE).toContain('reasons:struct<l:array<struct<s:string>>>');
    expect(byName('every-action-by-agent')?.sql).toContain('transform(item.details.m.reasons.l, r -> r.s)');
  });
});

describe('Function: archiveTableDdl', () => {
  it('points at the archive prefix the stream writer uses, with day partitions', () => {
    const ddl = archiveTableDdl('audit_db', 'audit_archive', 'acme-archive');

    expect(ddl).toContain(`LOCATION 's3://acme-archive/${ARCHIVE_PREFIX}'`);
    expect(ddl).toContain(`'s3://acme-archive/${ARCHIVE_PREFIX}year=\${year}/month=\${month}/day=\${day}/'`);
  });
});

describe('Function: archiveQueries', () => {
  it('reads the archive table and says it covers all history', () => {
    for (const query of archiveQueries('audit_db', 'audit_archive')) {
      expect(query.sql).toContain('"audit_db"."audit_archive"');
      expect(query.description).toContain('all history');
    }
  });
});
