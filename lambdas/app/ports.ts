import type { AuditLog } from '../adapters/audit-log';
import type { RequestsStore } from '../adapters/requests-store';
import type { ApprovalCard, CardOutcome } from '../core/card';
import type { Directory } from '../core/directory';
import type { ChatMessageRefs } from '../core/lifecycle';
import type { OutcomeEvent } from '../core/outcome';
import type { PolicyDecision, PolicyInput } from '../core/policy';

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
