/**
 * `POST /events`: the local stand-in for EventBridge `PutEvents`. Entries are
 * matched against `description.eventRules` (detail-type picks the rule; the
 * source must be one of the accepted sources when a list is set, see
 * `description.parseAcceptedEventSources`) and delivered to the
 * rule's real handler as an EventBridge event, synchronously, so a caller sees
 * the effect as soon as the response arrives.
 *
 * Deployed, a delivery failure is retried and then dead-lettered; here the
 * retries happen inline and a failure that outlives them is reported as a
 * failed entry, as is an entry that matches no rule or that the handler
 * dropped as invalid (which a deployed bus would only show in the logs).
 * The service's own change events match no rule of the service and are
 * accepted: they are for subscribers.
 *
 * Every accepted event is kept in a bounded {@link EventLog}, which the
 * runtime serves at `GET /local/events`: what a subscriber's rule on the
 * deployed bus would see.
 */
import { z } from 'zod';
import {
  type AcceptedEventSources,
  type EventRuleDescription,
  type HandlerDescription,
  ruleMatches,
} from '#contract/api';
import { ValidationError } from '#domain/errors';
import { settingsOf } from '#infrastructure/handler-settings';
import { handlerContext, invokeWithTimeout, type LambdaHandler } from './lambda.ts';
import { eventBridgeEvent } from './lambda-events.ts';

/** EventBridge accepts at most 10 entries per PutEvents call. */
const maxEntries = 10;
/** Deliveries a failing (retryable) entry gets before it is reported failed. */
const deliveryAttempts = 3;

const putEventsSchema = z.object({
  Entries: z
    .array(
      z.object({
        Source: z.string().optional(),
        DetailType: z.string().optional(),
        Detail: z.string().optional(),
        EventBusName: z.string().optional(),
        Resources: z.array(z.string()).optional(),
        Time: z.union([z.string(), z.number()]).optional(),
      }),
    )
    .min(1, 'needs at least one entry')
    .max(maxEntries, `takes at most ${maxEntries} entries`),
});

export type PutEventsResultEntry =
  | { readonly EventId: string }
  | { readonly ErrorCode: string; readonly ErrorMessage: string };

export interface PutEventsResult {
  readonly FailedEntryCount: number;
  readonly Entries: readonly PutEventsResultEntry[];
}

export interface EventRouterOptions {
  /** The sources the rules accept; undefined accepts any. */
  readonly acceptedSources: AcceptedEventSources;
  readonly rules: readonly EventRuleDescription[];
  readonly region: string;
  readonly loadHandler: (handler: HandlerDescription) => Promise<LambdaHandler>;
  /** Reports a delivery that failed for good (the local dead-letter queue). */
  readonly onDeadLetter?: (detailType: string, error: unknown) => void;
  /** Detail-types accepted without a rule of the service (its own change events). */
  readonly acceptedWithoutRule?: readonly string[];
  /** Where accepted events are kept. */
  readonly log?: EventLog;
}

/** An event as the bus accepted it. */
export interface LoggedEvent {
  /** Position in the log, from 1. */
  readonly sequence: number;
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly time: string;
  readonly detail: unknown;
}

/** The last `capacity` events the local bus accepted, oldest first. */
export class EventLog {
  private readonly events: LoggedEvent[] = [];
  private sequence = 0;

  constructor(private readonly capacity = 10_000) {}

  add(event: Omit<LoggedEvent, 'sequence'>): void {
    this.sequence++;
    this.events.push({ sequence: this.sequence, ...event });
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
  }

  /** Events after `sequence`, of one detail-type when given, at most `limit`. */
  after(sequence: number, detailType?: string, limit = 1_000): { events: LoggedEvent[]; last: number } {
    const events = this.events
      .filter(
        (event) => event.sequence > sequence && (detailType === undefined || event.detailType === detailType),
      )
      .slice(0, limit);
    return { events, last: events.at(-1)?.sequence ?? Math.max(sequence, this.sequence) };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Validates a PutEvents request body; a bad shape is the caller's error (400). */
export function parsePutEvents(body: unknown): z.output<typeof putEventsSchema> {
  const parsed = putEventsSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || 'body'} ${issue.message}`);
  throw new ValidationError(`PutEvents request: ${problems.join('; ')}`);
}

/** Delivers each entry to the targets of the rules it matches; one result per entry, in order. */
export async function putEvents(body: unknown, options: EventRouterOptions): Promise<PutEventsResult> {
  const { Entries } = parsePutEvents(body);
  const results: PutEventsResultEntry[] = [];
  for (const entry of Entries) results.push(await deliver(entry, options));
  return {
    FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
    Entries: results,
  };
}

async function deliver(
  entry: {
    Source?: string;
    DetailType?: string;
    Detail?: string;
    Resources?: string[];
    Time?: string | number;
  },
  options: EventRouterOptions,
): Promise<PutEventsResultEntry> {
  if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
    return { ErrorCode: 'MalformedEntry', ErrorMessage: 'an entry needs Source, DetailType and Detail' };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object' };
  }
  const matched = { source: entry.Source, detailType: entry.DetailType };
  const rules = options.rules.filter((rule) => ruleMatches(rule, matched, options.acceptedSources));
  const event = eventBridgeEvent({
    detailType: entry.DetailType,
    detail,
    source: entry.Source,
    region: options.region,
    resources: entry.Resources ?? [],
    // The SDK sends Time as epoch seconds.
    ...(entry.Time === undefined
      ? {}
      : { time: new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time) }),
  });
  const accept = () => {
    options.log?.add({
      id: event.id,
      source: event.source,
      detailType: event['detail-type'],
      time: event.time,
      detail: event.detail,
    });
    return { EventId: event.id };
  };
  if (rules.length === 0 && options.acceptedWithoutRule?.includes(entry.DetailType)) return accept();
  if (rules.length === 0) {
    const sources =
      options.acceptedSources === undefined
        ? 'any Source'
        : `Source ${options.acceptedSources.map((source) => `'${source}'`).join(', ')} (WFO_ACCEPTED_EVENT_SOURCES)`;
    return {
      ErrorCode: 'NoMatchingRule',
      ErrorMessage: `no rule matches Source '${entry.Source}' and DetailType '${entry.DetailType}'; rules match ${sources} with DetailType ${options.rules.map((rule) => `'${rule.detailType}'`).join(', ')}`,
    };
  }
  for (const rule of rules) {
    const failure = await deliverToTarget(rule, event, options);
    if (failure) return failure;
  }
  return accept();
}

async function deliverToTarget(
  rule: EventRuleDescription,
  event: unknown,
  options: EventRouterOptions,
): Promise<PutEventsResultEntry | undefined> {
  const handler = await options.loadHandler(rule.handler);
  let lastError: unknown;
  for (let attempt = 1; attempt <= deliveryAttempts; attempt++) {
    try {
      const context = handlerContext(rule.handler, options.region);
      const outcome = (await invokeWithTimeout(
        handler,
        event,
        context,
        settingsOf(rule.handler).timeoutSeconds * 1000 + 1000,
      )) as { outcome?: string; error?: { code?: string; message?: string } } | undefined;
      if (outcome?.outcome === 'dropped') {
        return {
          ErrorCode: outcome.error?.code ?? 'BadRequest',
          ErrorMessage: outcome.error?.message ?? 'the event was dropped as invalid',
        };
      }
      return undefined;
    } catch (error) {
      lastError = error;
      if (attempt < deliveryAttempts) await sleep(100 * attempt);
    }
  }
  options.onDeadLetter?.(rule.detailType, lastError);
  return {
    ErrorCode: 'DeliveryFailed',
    ErrorMessage: `the ${rule.handler.name} target failed ${deliveryAttempts} times; deployed, the event would go to the dead-letter queue`,
  };
}
