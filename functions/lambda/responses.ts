/**
 * Domain results as the contract's JSON (docs/api.md). Fields are picked
 * one by one: nothing the store keeps (leases, codec, inline buckets) leaks
 * into a response, and `resourceVersion` is always a string.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { NodeMap } from '#domain/nodes';
import type { VersionSummary, WorkflowSummary } from '#domain/store';
import type { PhaseCounts } from '#domain/summaries';
import type { WriteResult } from '#domain/workflow-service';
import type { ErrorBody, HttpError } from './errors.ts';
import { etagOf } from './request.ts';

/** The workflow fields every workflow, write and list response carries. */
export interface WorkflowSummaryBody {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly message?: string;
  readonly shutdown?: string;
  readonly resourceVersion: string;
  readonly nodeStatusVersion: string;
  readonly nodeCount: number;
  /** Nodes by phase, when the service knows them (versions written before it counted them do not). */
  readonly phaseCounts?: PhaseCounts;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function summaryBody(workflow: WorkflowSummary): WorkflowSummaryBody {
  return {
    uid: workflow.uid,
    namespace: workflow.namespace,
    name: workflow.name,
    phase: workflow.phase,
    ...(workflow.message === undefined ? {} : { message: workflow.message }),
    ...(workflow.shutdown === undefined ? {} : { shutdown: workflow.shutdown }),
    resourceVersion: String(workflow.resourceVersion),
    nodeStatusVersion: workflow.nodeStatusVersion,
    nodeCount: workflow.nodeCount,
    ...(workflow.phaseCounts === undefined ? {} : { phaseCounts: workflow.phaseCounts }),
    createdAt: workflow.createdAt,
    updatedAt: workflow.updatedAt,
  };
}

/** `GET /v1/workflows/{uid}` and stop: the summary plus all nodes. */
export const workflowBody = (workflow: WorkflowSummary & { readonly nodes: NodeMap }) => ({
  ...summaryBody(workflow),
  nodes: workflow.nodes,
});

/** PUT and PATCH: the summary plus what the write cost. */
export const writeBody = (result: WriteResult) => ({
  ...summaryBody(result.workflow),
  write: {
    chunksWritten: result.write.chunksWritten,
    chunksReused: result.write.chunksReused,
    bytesWritten: result.write.bytesWritten,
    writeUnits: result.write.writeUnits,
  },
});

/** One item of `GET .../versions`; `expiresAt` as an ISO timestamp, like `createdAt`. */
export const versionItemBody = (version: VersionSummary & { readonly current: boolean }) => ({
  nodeStatusVersion: version.nodeStatusVersion,
  createdAt: version.createdAt,
  expiresAt: new Date(version.expiresAt * 1000).toISOString(),
  nodeCount: version.nodeCount,
  storedBytes: version.storedBytes,
  ...(version.phaseCounts === undefined ? {} : { phaseCounts: version.phaseCounts }),
  current: version.current,
});

/**
 * A JSON response. Compression, `Vary` and the correlation id header are
 * added by the middleware on the way out.
 *
 * @example
 * return json(201, writeBody(result), { etag: etagOf(result.workflow.resourceVersion) });
 */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** 304: the caller's copy is current; the same cache headers, no body. */
export const notModified = (headers: Record<string, string>): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 304,
  headers,
});

/** 204, no body. */
export const noContent = (): APIGatewayProxyStructuredResultV2 => ({ statusCode: 204, headers: {} });

/** `ETag` header of a workflow's current resourceVersion. */
export const etagHeader = (workflow: { readonly resourceVersion: number | string }) => ({
  etag: etagOf(workflow.resourceVersion),
});

/** An HttpError as a response. */
export const errorResponse = (error: HttpError): APIGatewayProxyStructuredResultV2 =>
  json(error.statusCode, error.body satisfies ErrorBody, error.headers);
