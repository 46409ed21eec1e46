import type { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDescription } from '#contract/api';

export interface OffloadHttpApiProps {
  readonly routes: readonly RouteDescription[];
  /** The function serving each handler, by handler name. */
  readonly functions: ReadonlyMap<string, IFunction>;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Steady-state requests per second of the default stage. @default 500 */
  readonly throttleRateLimit?: number;
  /** Burst of the default stage. @default 1000 */
  readonly throttleBurstLimit?: number;
}

/**
 * One JSON object per request. Only variables HTTP APIs support; the identity
 * fields say which IAM principal called, since every route is SigV4-signed.
 */
const accessLogFields = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  accountId: '$context.identity.accountId',
};

/**
 * The HTTP API (docs/api.md), from `description.routes`: every route
 * requires AWS_IAM (SigV4) authorisation, the `$default` stage is throttled
 * and writes JSON access logs to its own log group.
 */
export class OffloadHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: OffloadHttpApiProps) {
    super(scope, id);

    this.api = new HttpApi(this, 'Api', {
      description: 'workflow-offload: node status of large workflows (IAM-signed requests only)',
      defaultAuthorizer: new HttpIamAuthorizer(),
      // Created below, to give it throttling and access logs.
      createDefaultStage: false,
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttleRateLimit ?? 500,
        burstLimit: props.throttleBurstLimit ?? 1000,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });

    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of props.routes) {
      const fn = props.functions.get(route.handler.name);
      if (!fn)
        throw new Error(`no function for handler '${route.handler.name}' of ${route.method} ${route.path}`);
      let integration = integrations.get(route.handler.name);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.handler.name}Integration`, fn);
        integrations.set(route.handler.name, integration);
      }
      this.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
    }
  }

  /** The base URL callers sign requests for (ends with `/`). */
  get url(): string {
    return this.stage.url;
  }
}
