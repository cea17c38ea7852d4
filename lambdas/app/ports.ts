import type { ApprovalCard, CardOutcome } from '../core/card';
import type { Directory } from '../core/directory';
import type { AuditEvent, AuditRecord, JsonValue } from '../core/audit';
import type { ActionPlan } from '../core/catalog';
import type { Result } from '../core/result';
import type { SessionPolicyDocument } from '../core/session-policy';
import type { ChatMessageRefs, RequestRecord } from '../core/lifecycle';
import type { OutcomeEvent } from '../core/outcome';
import type { PolicyDecision, PolicyInput } from '../core/policy';
import type { ChangePreview } from '../core/preview';
import type { SdkOperation } from '../core/sdk-operations';
import type { ActionRequest } from '../core/types';

// What the ports throw when a request is not as the caller read it: adapters raise these, so they
// travel with the ports.
export {
  ActionApprovalsError,
  ConflictError,
  RequestNotFoundError,
  StaleWriteError,
  StoreUnavailableError,
  WorkflowGoneError,
} from './errors';

export type RequestChanges = Partial<Omit<RequestRecord, 'requestId' | 'version' | 'auditHead'>>;

/**
 * The server-side state of requests (the Requests table), written together with the audit
 * records that describe each change: a state change without its record, or a record without its
 * state change, cannot happen.
 */
export interface RequestsStore {
  /** Creates the request with the first records of its chain; false when the id is already taken. */
  claim(record: Omit<RequestRecord, 'auditHead'>, opening: readonly AuditEvent[]): Promise<boolean>;
  get(requestId: string): Promise<RequestRecord | undefined>;
  /**
   * Applies `changes` and appends `events` to the chain if nobody wrote the request since
   * `current` was read and the state change is allowed; throws ConflictError otherwise.
   */
  save(
    current: RequestRecord,
    changes: RequestChanges,
    events?: readonly AuditEvent[],
  ): Promise<RequestRecord>;
  /**
   * The ids of requests that are `executing` and were claimed for execution before `cutoff`.
   * Read from an index, so a request may have moved on since: read it again before acting.
   */
  executingSince(cutoff: Date): Promise<string[]>;
}

/** What the by-agent index holds of a request: everything but the task token and chat references. */
export type RequestSummary = Omit<RequestRecord, 'taskToken' | 'messages' | 'version' | 'auditHead'>;

/** Read access to each agent's requests, for the status API. */
export interface RequestHistory {
  /** The agent's most recent requests, newest first, at most `limit`. */
  listByAgent(agentId: string, limit: number): Promise<RequestSummary[]>;
}

/**
 * The append-only audit trail (the AuditLog table). Records of a known request are written with
 * its state by the RequestsStore; this port starts chains that have no request behind them
 * (rejected input) and reads chains back.
 */
export interface AuditLog {
  /** Writes the first record of a new chain; false when the chain already exists. */
  start(event: AuditEvent): Promise<boolean>;
  read(requestId: string): Promise<AuditRecord[]>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface PolicyEvaluator {
  evaluate(input: PolicyInput): PolicyDecision;
}

/** A chat channel that shows approval cards: Slack or Microsoft Teams. */
export interface ApprovalNotifier {
  readonly channel: keyof ChatMessageRefs;
  /** Posts the card; returns where it was posted so it can be updated later. */
  post(card: ApprovalCard): Promise<ChatMessageRefs>;
  /** Replaces the posted card with its decided (or progress) form. */
  update(refs: ChatMessageRefs, card: ApprovalCard, outcome: CardOutcome): Promise<void>;
}

/** Resumes the paused workflow. The task token goes nowhere but here. */
export interface WorkflowCallbacks {
  approve(taskToken: string, output: Readonly<Record<string, unknown>>): Promise<void>;
  deny(taskToken: string, reason: string): Promise<void>;
}

/** Where secrets come from: Secrets Manager in AWS (the runtime's SecretReader). */
export interface SecretSource {
  get(secretId: string): Promise<string>;
}

/** What an HTTP endpoint answers, as API Gateway (payload format 2.0) takes it from Lambda. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface OutcomePublisher {
  publish(event: OutcomeEvent): Promise<void>;
}

/** What the request path needs from the outside world. */
export interface RequestPathDeps {
  readonly requests: RequestsStore;
  readonly audit: AuditLog;
  readonly directory: Directory;
  readonly clock: Clock;
}

/** A chat callback that failed authentication (bad signature, bad token), as far as it is reported. */
export interface UnauthenticatedCallback {
  readonly channel: 'slack' | 'teams';
  readonly refusal: string;
  readonly reason: string;
  /** Where it came from, clipped: for an operator looking into a spike, never for the audit trail. */
  readonly sourceIp: string | null;
  readonly userAgent: string | null;
  readonly bodyBytes: number;
}

/**
 * Where unauthenticated callbacks are reported instead of the audit trail. Anyone on the internet
 * can send them, so they may cost a counter and a sampled log line, never a permanent record.
 */
export interface UnauthenticatedCallbacks {
  refused(callback: UnauthenticatedCallback): void;
}

/** Temporary credentials for one approved call. Hold them only as long as the call takes. */
export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface AssumeForActionInput {
  /** The execution role of the action's role class. */
  readonly roleArn: string;
  readonly requestId: string;
  /** Becomes the session's SourceIdentity: CloudTrail attributes every call of the session to it. */
  readonly agentId: string;
  /** Reviewer identities (or `policy:auto-approve`), carried as the `Approvers` session tag. */
  readonly approvers: readonly string[];
  readonly sessionPolicy: SessionPolicyDocument;
}

/** Mints the scoped session for one approved call. */
export interface CredentialIssuer {
  assumeForAction(input: AssumeForActionInput): Promise<SessionCredentials>;
}

/** A small, JSON-safe description of an executed call. */
export type ExecutionSummary = Readonly<Record<string, JsonValue>>;

/**
 * What an executed call came to, split by who may see it. The audit trail holds decisions, not
 * data: `recorded` describes what was returned (a digest, its size and type) and never holds it.
 * `delivered` travels only on the agent's outcome event, and carries data by reference (a
 * pre-signed URL), never inline, so no result can outgrow Step Functions' 256 KB state.
 */
export interface ExecutionResult {
  readonly recorded: ExecutionSummary;
  readonly delivered: ExecutionSummary;
  /**
   * Set when the call was answered by a local stand-in (an in-memory model of the service, or a
   * recorder) instead of the service: the request ends `simulated`, never `executed`. Only an
   * executor pointed at the local runtime's gateway may set it.
   */
  readonly simulated?: SimulatedBy;
}

/** Which local stand-in answered a call, in words a reviewer reads. */
export interface SimulatedBy {
  /** e.g. `in-memory EC2 security groups` or `recorder (nothing ran)`. */
  readonly standIn: string;
}

/** What bounds how long a delivered reference stays usable, besides the session's own expiry. */
export interface DeliveryLimits {
  /** When the approval ends: no reference outlives it. */
  readonly notAfter: Date;
  readonly now: Date;
}

/** Why a call failed, as the SDK named it. Never holds credentials. */
export interface ExecutionFailure {
  readonly name: string;
  readonly message: string;
  /** The AWS request id, for a support case or CloudTrail lookup. */
  readonly awsRequestId?: string;
}

/** Makes the one approved call with the session minted for it. */
export interface ActionExecutor {
  run(
    plan: ActionPlan,
    credentials: SessionCredentials,
    limits: DeliveryLimits,
  ): Promise<Result<ExecutionResult, ExecutionFailure>>;
}

/** One approved call of the generic path: the SDK command of the approved IAM action. */
export interface SdkCall {
  readonly operation: SdkOperation;
  /** The approved ARN: its region is where the client is sent. */
  readonly resource: string;
  /** The approved parameters, exactly as hashed: sent as the command's input unchanged. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** Runs an action outside the catalog as its SDK command with the session minted for it. */
export interface GenericExecutor {
  run(call: SdkCall, credentials: SessionCredentials): Promise<Result<ExecutionResult, ExecutionFailure>>;
}

/** Whom a preview is read for: its session names them, as the execution session does. */
export interface PreviewRequester {
  readonly requestId: string;
  readonly agentId: string;
}

/** Reads what an action would change, before reviewers decide. */
export interface ChangePreviewer {
  /** Undefined when the action has no preview; an `unavailable` preview says why it could not be read. */
  preview(
    action: ActionRequest['action'],
    notAfter: string,
    requester: PreviewRequester,
  ): Promise<ChangePreview | undefined>;
}

/**
 * Where use cases write operational logs: Powertools' Logger in Lambda. Attributes never hold task
 * tokens, secrets or credentials.
 */
export interface Logger {
  info(message: string, ...attributes: { [key: string]: unknown }[]): void;
  warn(message: string, ...attributes: { [key: string]: unknown }[]): void;
  error(message: string, error: Error): void;
}

/** What answering a Slack click needs of the workspace, beyond updating cards. */
export interface SlackWorkspace {
  /** The user's confirmed e-mail address, when Slack vouches for one. */
  verifiedEmailOf(userId: string): Promise<string | undefined>;
  /** Shows `text` to that user only, in the channel where they clicked. */
  tellUser(channelId: string, userId: string, text: string): Promise<void>;
  /** Opens a modal with every parameter of the card, in full, on its first page. */
  showParameters(triggerId: string, card: ApprovalCard): Promise<void>;
  /** Turns the open parameters modal to page `page` (0-based). */
  turnParametersPage(viewId: string, card: ApprovalCard, page: number): Promise<void>;
}
