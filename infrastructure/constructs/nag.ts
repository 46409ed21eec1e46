import { type Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag packs every synth runs: AWS Solutions and Serverless.
 * Acknowledgements are written into the template metadata too, so the
 * deployed template records why each finding was accepted.
 */
export function nagPacks(scope: Stage): NagPack[] {
  return [
    new AwsSolutionsChecks(scope, { verbose: true, writeSuppressionsToCloudFormation: true }),
    new ServerlessChecks(scope, { verbose: true, writeSuppressionsToCloudFormation: true }),
  ];
}

/** Registers the packs on an app or stage: synth fails on any unacknowledged finding of level error. */
export function applyNagPacks(scope: Stage): void {
  Validations.of(scope).addPlugins(...nagPacks(scope));
}

/**
 * Accepts one cdk-nag finding on one construct (and its children), with the
 * reason a reviewer reads. IAM5 findings name the exact wildcard
 * (`AwsSolutions-IAM5[Resource::*]`), so accepting one never hides another.
 */
export function acknowledgeNagFinding(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
