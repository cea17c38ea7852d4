/** What a verification can find wrong with an audit trail. */
export const FINDING = {
  /** A record's `hash` is not the SHA-256 of its content: it was edited after it was sealed. */
  hashMismatch: 'hash-mismatch',
  /** A record's `prevHash` does not point at its predecessor (or the first record not at genesis). */
  chainBreak: 'chain-break',
  /** A seq number below the chain's highest is absent from every input. */
  missingRecord: 'missing-record',
  /** A record follows the request's terminal record. */
  afterTerminal: 'after-terminal',
  /** A request that never ended although it went quiet long before the newest record. */
  unterminated: 'unterminated',
  /** Two different records claim the same (requestId, seq). */
  conflictingRecords: 'conflicting-records',
  /** An `executed` or `simulated` record without `details.receipt`. */
  receiptMissing: 'receipt-missing',
  /** A receipt whose signature or payload does not verify with the trusted keys. */
  receiptInvalid: 'receipt-invalid',
  /** A genuine receipt that says something else than the chain: request, approvers, decision time, expiry. */
  receiptMismatch: 'receipt-mismatch',
  /** In the stream archive, absent from the newest full export, which should hold it. */
  onlyInArchive: 'only-in-archive',
  /** In a table export, absent from the stream archive. */
  onlyInExport: 'only-in-export',
  /** In an older export (or deleted in an incremental one), absent from the newest full export: deleted from the table. */
  deletedFromTable: 'deleted-from-table',
  /** An incremental export shows an audit item overwritten in the table (an update, not an insert). */
  changedInTable: 'changed-in-table',
  /** The same (requestId, seq) twice in one export: a table holds one item per key. */
  duplicatedItem: 'duplicated-item',
  /** A file or line that could not be read; the records in it are unverified. */
  inputError: 'input-error',
} as const;
export type FindingKind = (typeof FINDING)[keyof typeof FINDING];
export type RecordFindingKind = Exclude<FindingKind, typeof FINDING.inputError>;

/** The groups the report is organised by; every kind belongs to exactly one. */
export const FINDING_CATEGORY: Readonly<Record<FindingKind, 'chain' | 'receipt' | 'cross-check' | 'input'>> =
  {
    'hash-mismatch': 'chain',
    'chain-break': 'chain',
    'missing-record': 'chain',
    'after-terminal': 'chain',
    unterminated: 'chain',
    'conflicting-records': 'cross-check',
    'receipt-missing': 'receipt',
    'receipt-invalid': 'receipt',
    'receipt-mismatch': 'receipt',
    'only-in-archive': 'cross-check',
    'only-in-export': 'cross-check',
    'deleted-from-table': 'cross-check',
    'changed-in-table': 'cross-check',
    'duplicated-item': 'cross-check',
    'input-error': 'input',
  };

/** What each finding means, for `audit verify --help` and docs/COMPLIANCE.md (a test keeps them equal). */
export const FINDING_MEANING: Readonly<Record<FindingKind, string>> = {
  'hash-mismatch': 'a record was edited after it was sealed: its hash is not the SHA-256 of its content',
  'chain-break': 'a record does not point at its predecessor (or record 0 not at the genesis hash)',
  'missing-record': 'a record below the highest seq of its request is in no input',
  'after-terminal': 'a record follows the request’s terminal record',
  unterminated: 'a request never ended although it went quiet long before the newest record',
  'conflicting-records':
    'two different records claim one (requestId, seq); says which copy is self-consistent (its hash matches its content)',
  'receipt-missing': 'an executed or simulated record carries no receipt',
  'receipt-invalid': 'a receipt whose signature or payload does not verify with the trusted keys',
  'receipt-mismatch':
    'a genuine receipt that disagrees with the chain: request, agent, action, parameters, approvers, decision, decision time or expiry',
  'only-in-archive': 'in the stream archive but not in the newest full export, which was taken after it',
  'only-in-export': 'in a table export but never delivered to the stream archive',
  'deleted-from-table':
    'in an older export or the stream archive and absent from a newer full export, or deleted in an incremental export',
  'changed-in-table': 'an incremental export shows an audit item overwritten in the table',
  'duplicated-item': 'the same (requestId, seq) twice in one export, whatever its manifest counts',
  'input-error':
    'a file or line that cannot be read (with file and line); a missing data file is one finding with the count of records it held',
};

/** Where a record or an error was read: a local path or an `s3://bucket/key` URL, and a 1-based line. */
export interface Location {
  readonly file: string;
  readonly line?: number;
}

export interface RecordFinding extends Partial<Location> {
  readonly kind: RecordFindingKind;
  readonly requestId: string;
  readonly seq: number;
  readonly reason: string;
}

export interface InputFinding extends Location {
  readonly kind: typeof FINDING.inputError;
  readonly reason: string;
}

export type Finding = RecordFinding | InputFinding;

/** The two places records are read from; they are cross-checked against each other. */
export type TrailSource = 'archive' | 'export';
