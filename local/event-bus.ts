import { randomUUID } from 'node:crypto';

export const LOCAL_ACCOUNT = '000000000000';

/** An event as EventBridge delivers it to targets. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** One PutEvents entry as the SDK sends it. */
export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
  readonly EventBusName?: string;
  readonly Time?: string | number;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

type Rule = { readonly matches: (event: BusEvent) => boolean; readonly deliver: (event: BusEvent) => void };

/**
 * The local stand-in for the system's EventBridge bus: PutEvents in, rules out. Like
 * EventBridge, it validates each entry on its own and answers per entry.
 */
export class LocalEventBus {
  private readonly rules: Rule[] = [];

  constructor(
    readonly name: string,
    private readonly region: string,
  ) {}

  /** Adds a rule; returns a function that removes it. */
  on(matches: (event: BusEvent) => boolean, deliver: (event: BusEvent) => void): () => void {
    const rule = { matches, deliver };
    this.rules.push(rule);
    return () => this.rules.splice(this.rules.indexOf(rule), 1);
  }

  put(entries: readonly PutEventsEntry[]): PutEventsResultEntry[] {
    return entries.map((entry) => {
      if (
        entry.EventBusName &&
        entry.EventBusName !== this.name &&
        !entry.EventBusName.endsWith(`:event-bus/${this.name}`)
      ) {
        return {
          ErrorCode: 'ResourceNotFoundException',
          ErrorMessage: `Event bus ${entry.EventBusName} does not exist.`,
        };
      }
      if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
        };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' };
      }
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: LOCAL_ACCOUNT,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.region,
        resources: [...(entry.Resources ?? [])],
        detail,
      };
      // Delivery is asynchronous, as EventBridge's is: PutEvents answers before targets run.
      for (const rule of [...this.rules]) if (rule.matches(event)) setImmediate(() => rule.deliver(event));
      return { EventId: event.id };
    });
  }
}
