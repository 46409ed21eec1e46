import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ScheduleDescription } from '#contract/api';
import { acknowledgeNagFinding } from '#infrastructure/constructs/nag';

/**
 * The interval of a schedule: `R * everyRetentionFraction`, rounded down to
 * whole minutes (the finest rate EventBridge Scheduler accepts), at least one.
 * Rounding down only makes the renewer run a little more often.
 */
export function scheduleIntervalMinutes(schedule: ScheduleDescription, retentionSeconds: number): number {
  return Math.max(1, Math.floor((retentionSeconds * schedule.everyRetentionFraction) / 60));
}

export interface RenewScheduleProps {
  readonly schedule: ScheduleDescription;
  readonly function: IFunction;
  readonly retentionSeconds: number;
  /** Where an invocation lands when the scheduler cannot deliver it. */
  readonly deadLetterQueue: IQueue;
}

/**
 * Runs a scheduled handler (the lease renewer) every `R * fraction`. Missing
 * one run is harmless by design (leases stay above 1.25 R between runs), so
 * retries are few and short: the next run comes soon anyway.
 */
export class RenewSchedule extends Construct {
  readonly schedule: Schedule;
  readonly interval: Duration;
  readonly description: ScheduleDescription;

  constructor(scope: Construct, id: string, props: RenewScheduleProps) {
    super(scope, id);
    this.description = props.schedule;
    this.interval = Duration.minutes(scheduleIntervalMinutes(props.schedule, props.retentionSeconds));
    // Our own role rather than the shared one the target would create, so the
    // acknowledgement below applies to this schedule's role only.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `Lets EventBridge Scheduler run the ${props.schedule.handler.name} handler`,
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: `${props.schedule.name}: runs ${props.schedule.handler.name} every ${this.interval.toHumanString()}`,
      schedule: ScheduleExpression.rate(this.interval),
      target: new LambdaInvoke(props.function, {
        role,
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.minutes(Math.min(60, this.interval.toMinutes())),
      }),
    });
    acknowledgeNagFinding(
      role,
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.function.node.defaultChild as CfnFunction)}.Arn>:*]`,
      "Granted by the Scheduler Lambda target: the ':*' covers only the versions and aliases of the scheduled handler itself, no other function.",
    );
  }
}
