import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { HandlerDescription } from '#contract/api';
import { serviceName } from '#contract/metrics';
import { acknowledgeNagFinding } from '#infrastructure/constructs/nag';
import { settingsOf } from '#infrastructure/handler-settings';

/** Repository root: handler entries, the lock file and tsconfig are resolved from it. */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where a handler's source lives: `functions/handlers/<file>.ts`. */
export const handlerEntry = (handler: HandlerDescription): string =>
  join(projectRoot, 'functions', 'handlers', `${handler.file}.ts`);

/**
 * The bundle is ESM (the source is ESM, and top-level await works), so
 * CommonJS dependencies that call `require` for Node built-ins get one from
 * `createRequire`. `__dirname`/`__filename` are not provided: nothing we
 * bundle needs them.
 */
const esmRequireBanner =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface HandlerFunctionProps {
  readonly handler: HandlerDescription;
  readonly tableName: string;
  readonly versionsTableName: string;
  readonly retentionSeconds: number;
  readonly metricsNamespace: string;
  readonly logLevel: string;
  readonly logRetention: RetentionDays;
  /** Removal policy of the log group. */
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * For asynchronously invoked handlers (event rules, schedule): where an
   * event lands after Lambda's own retries are exhausted.
   */
  readonly deadLetterQueue?: IQueue;
}

/**
 * One Lambda handler with the service's fixed defaults: ARM64, Node.js 22,
 * bundled by the local esbuild (never Docker) into ESM with source maps,
 * memory and timeout from the description, X-Ray active tracing, its own log
 * group with retention, its own role (so grants are per handler), and the
 * Powertools and service environment.
 */
export class HandlerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const { handler } = props;

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    // A role per handler instead of the shared AWSLambdaBasicExecutionRole
    // managed policy: logs go to this handler's log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${handler.name} handler`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(handler),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: settingsOf(handler).memoryMb,
      timeout: Duration.seconds(settingsOf(handler).timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      description: `workflow-offload ${handler.name} (functions/handlers/${handler.file}.ts)`,
      deadLetterQueue: props.deadLetterQueue,
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        LOG_LEVEL: props.logLevel,
        WFO_TABLE_NAME: props.tableName,
        WFO_VERSIONS_TABLE_NAME: props.versionsTableName,
        WFO_RETENTION_SECONDS: String(props.retentionSeconds),
        // Stack traces point at the TypeScript source, through the bundled source map.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        banner: esmRequireBanner,
        // Prefer the ESM build of dependencies that ship both.
        mainFields: ['module', 'main'],
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled at the version the lock file pins, not the one the
        // runtime happens to ship.
        bundleAwsSDK: true,
      },
    });

    acknowledgeNagFinding(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions; every other statement of this role names its table, index, log group or queue.',
    );
    const runtimeReason =
      'Node.js 22 is the runtime the project targets and the one the handlers are built and tested for (target node22); moving to a newer runtime is a deliberate, tested upgrade, not a side effect of a CDK update.';
    acknowledgeNagFinding(this.function, 'AwsSolutions-L1', runtimeReason);
    acknowledgeNagFinding(this.function, 'Serverless-LambdaLatestVersion', runtimeReason);
    if (!props.deadLetterQueue) {
      acknowledgeNagFinding(
        this.function,
        'Serverless-LambdaDLQ',
        'This handler is invoked only synchronously by the HTTP API: a failure is returned to the caller as an HTTP error, and Lambda never sends synchronous invocations to a dead-letter queue.',
      );
    }
  }
}
