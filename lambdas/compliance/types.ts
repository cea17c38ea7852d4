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
  /** An `executed` record without `details.receipt`. */
  receiptMissing: 'receipt-missing',
  /** A receipt whose signature or payload does not verify with the trusted keys. */
  receiptInvalid: 'receipt-invalid',
  /** A genuine receipt for something else than what the chain says was executed. */
  receiptMismatch: 'receipt-mismatch',
  /** In the stream archive, absent from the table export that should hold it. */
  onlyInArchive: 'only-in-archive',
  /** In the table export, absent from the stream archive. */
  onlyInExport: 'only-in-export',
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
    'input-error': 'input',
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
