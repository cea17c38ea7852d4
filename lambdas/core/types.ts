/** The one privileged call an agent asks for. */
export interface RequestedAction {
  /** IAM action name in its canonical case, e.g. `dynamodb:ExportTableToPointInTime`. */
  readonly operation: string;
  /** A concrete ARN (no wildcards) of a resource type the operation accepts. */
  readonly resource: string;
  /** The API call's parameters; bound to the approval by `parametersHash`. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /**
   * Further permissions the call needs (e.g. `iam:PassRole` on an ECS task role), listed by the
   * agent: shown on the card, bound by `parametersHash`, each checked against IAM's reference.
   * Absent when the agent lists none.
   */
  readonly companions?: readonly RequestedCompanion[];
}

/** One further permission an approved call needs: one IAM action on one concrete ARN. */
export interface RequestedCompanion {
  readonly action: string;
  readonly resource: string;
}

/** A validated `Action Requested` event. */
export interface ActionRequest {
  readonly requestId: string;
  /** Taken from the event's `source` (`agent.<agentId>`), never from its detail. */
  readonly agentId: string;
  readonly action: RequestedAction;
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of `action.parameters` (and `action.companions`: see `parametersHash`). */
  readonly parametersHash: string;
  /** Agent-supplied free text: shown to reviewers, never trusted. */
  readonly justification: string;
  readonly context: Readonly<Record<string, string>>;
  /** Requested time to live; the policy's value applies when absent. */
  readonly ttlSeconds?: number;
  /** The event's `time`, ISO-8601. */
  readonly requestedAt: string;
}

/** What IAM's service reference says about an action, as far as this system needs it. */
export interface IamActionInfo {
  /** Canonical `service:Action` name. */
  readonly name: string;
  /** e.g. `Read`, `List`, `Write`, `Tagging`, `Permissions management`. */
  readonly accessLevels: readonly string[];
  /** ARN templates of the resource types the action accepts (`arn:${Partition}:…`). */
  readonly resourceArnTemplates: readonly string[];
}

/** Read access to IAM's service reference (actions, their access levels and resource types). */
export interface IamReference {
  /** Looks up an action by `service:Action`, case-insensitively; undefined when it does not exist. */
  describeAction(operation: string): Promise<IamActionInfo | undefined>;
}
