import { Duration } from 'aws-cdk-lib';
import { EventBus, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AcceptedEventSources, EventRuleDescription } from '#contract/api';

export interface WorkflowEventsProps {
  /** The `source`s the rules accept; undefined: any sender on the bus. */
  readonly acceptedSources?: AcceptedEventSources;
  readonly rules: readonly EventRuleDescription[];
  /** The function serving each handler, by handler name. */
  readonly functions: ReadonlyMap<string, IFunction>;
  /** Where an event lands when EventBridge cannot deliver it to its handler. */
  readonly deadLetterQueue: IQueue;
  /** Use this existing bus instead of creating one. */
  readonly existingEventBusName?: string;
  /** Delivery attempts after the first one. @default 8 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying an undelivered event. @default 1 hour */
  readonly maxEventAge?: Duration;
}

/**
 * The event side of the contract (docs/api.md): a bus (created, or an existing one by
 * name) and one rule per `description.eventRules` entry, matching the rule's
 * `detail-type` from any source, or from `acceptedSources` when given (the
 * same rule as `description.ruleMatches`, which the local runtime applies).
 * Who may put events on the bus is the access boundary, not the `source`:
 * see docs/deploy.md. Every target retries and then dead-letters, so no event
 * is dropped silently.
 */
export class WorkflowEvents extends Construct {
  readonly eventBus: IEventBus;
  readonly rules: Rule[] = [];

  constructor(scope: Construct, id: string, props: WorkflowEventsProps) {
    super(scope, id);

    this.eventBus = props.existingEventBusName
      ? EventBus.fromEventBusName(this, 'Bus', props.existingEventBusName)
      : new EventBus(this, 'Bus', { description: 'workflow-offload: workflow node, stop and delete events' });

    for (const ruleDescription of props.rules) {
      const fn = props.functions.get(ruleDescription.handler.name);
      if (!fn) throw new Error(`no function for handler '${ruleDescription.handler.name}'`);
      const rule = new Rule(this, `${ruleDescription.handler.name}Rule`, {
        eventBus: this.eventBus,
        description: `'${ruleDescription.detailType}' events to the ${ruleDescription.handler.name} handler`,
        eventPattern: {
          ...(props.acceptedSources === undefined ? {} : { source: [...props.acceptedSources] }),
          detailType: [ruleDescription.detailType],
        },
      });
      rule.addTarget(
        new LambdaFunction(fn, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 8,
          maxEventAge: props.maxEventAge ?? Duration.hours(1),
        }),
      );
      this.rules.push(rule);
    }
  }
}
