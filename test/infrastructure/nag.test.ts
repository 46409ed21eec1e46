import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { applyNagPacks, nagPacks } from '#infrastructure/constructs/nag';
import { WorkflowOffloadStack, type WorkflowOffloadStackProps } from '#infrastructure/stack';

const featureFlags = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;

function build(props: WorkflowOffloadStackProps = {}) {
  const app = new App({ context: { ...featureFlags, 'aws:cdk:bundling-stacks': [] } });
  const stack = new WorkflowOffloadStack(app, 'Test', props);
  return { app, stack };
}

/** Every finding of both packs, as `rule at path` lines, so a failure says what to fix. */
function findings(scope: App): string[] {
  return nagPacks(scope).flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((violation) =>
        violation.violatingResources.map(
          (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
        ),
      ),
  );
}

function acknowledgements(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it('reports no AwsSolutions or Serverless finding, error or warning', () => {
    const { app } = build();

    expect(findings(app)).toEqual([]);
  });

  it('reports none either with every optional prop set', () => {
    const { app } = build({
      env: { account: '111122223333', region: 'eu-west-1' },
      alarmEmail: 'oncall@example.com',
      existingEventBusName: 'argo-events',
      encryptionKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      retentionSeconds: 600,
    });

    expect(findings(app)).toEqual([]);
  });

  it('catches a finding nobody acknowledged', () => {
    const { app, stack } = build();
    new Queue(stack, 'PlainQueue');

    expect(findings(app)).toEqual(
      expect.arrayContaining([expect.stringMatching(/AwsSolutions-SQS4 at Test\/PlainQueue/)]),
    );
  });

  it('lets the app synthesise with both packs registered, as cdk synth does', () => {
    const { app } = build();
    applyNagPacks(app);

    expect(() => app.synth()).not.toThrow();
  });

  it('leaves no error or warning annotation', () => {
    const { stack } = build();
    const annotations = Annotations.fromStack(stack);

    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('gives every acknowledgement a reason a reviewer can check', () => {
    const { stack } = build();
    const acknowledged = acknowledgements(stack);

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acknowledged) {
      expect(reason.length, `${id} at ${path}`).toBeGreaterThan(80);
      expect(reason, `${id} at ${path}`).toMatch(/^[A-Z].*\.$/s);
      // Wildcard permissions are acknowledged one wildcard at a time, never the whole IAM5 rule.
      expect(id, path).not.toMatch(/IAM5$/);
    }
  });
});
