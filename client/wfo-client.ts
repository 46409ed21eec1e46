/**
 * Typed client for the workflow-offload HTTP API (docs/api.md). Used by
 * the `wfo` CLI, the benchmarks and the end-to-end tests; it depends on
 * nothing but Node built-ins (`fetch`, `node:zlib`), so it can be copied into
 * a controller or a script as is.
 *
 * The types below describe the wire format, not the service's internals: they
 * are written from the contract so that a change to the server that breaks
 * them is a change to the contract.
 */
import { promisify } from 'node:util';
import {
  brotliDecompress as brotliCallback,
  gunzip as gunzipCallback,
  gzip as gzipCallback,
} from 'node:zlib';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);
const brotliDecompress = promisify(brotliCallback);

// ---------------------------------------------------------------------------
// Wire types
// ---------------------------------------------------------------------------

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const nodePhases = [
  'Pending',
  'Running',
  'Succeeded',
  'Skipped',
  'Failed',
  'Error',
  'Omitted',
] as const;
export type NodePhase = (typeof nodePhases)[number];

export const stopStrategies = ['Stop', 'Terminate'] as const;
export type StopStrategy = (typeof stopStrategies)[number];

/**
 * One node of a workflow's status. Opaque to the service apart from `id`
 * (equal to its key when present), `phase`, `message` and `finishedAt`; it
 * round-trips exactly.
 */
/** Argo's `WorkflowPhase` values: the only workflow phases the service accepts (or none). */
export const workflowPhases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Error'] as const;

/** The error codes the service answers with, and their HTTP statuses. */
export const errorCodes = {
  BadRequest: 400,
  NotFound: 404,
  Conflict: 409,
  Gone: 410,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  InternalError: 500,
  ServiceUnavailable: 503,
} as const;

/**
 * The routes this client calls, as the service declares them (`{param}`
 * placeholders); a test pins them to the service's contract.
 */
export const clientRoutes = {
  health: { method: 'GET', path: '/healthz' },
  putWorkflow: { method: 'PUT', path: '/v1/workflows/{uid}' },
  patchNodes: { method: 'PATCH', path: '/v1/workflows/{uid}/nodes' },
  getWorkflow: { method: 'GET', path: '/v1/workflows/{uid}' },
  listVersions: { method: 'GET', path: '/v1/workflows/{uid}/versions' },
  getVersion: { method: 'GET', path: '/v1/workflows/{uid}/versions/{version}' },
  stopWorkflow: { method: 'POST', path: '/v1/workflows/{uid}/stop' },
  deleteWorkflow: { method: 'DELETE', path: '/v1/workflows/{uid}' },
  listWorkflows: { method: 'GET', path: '/v1/namespaces/{namespace}/workflows' },
  readNodes: { method: 'GET', path: '/v1/workflows/{uid}/nodes' },
  beginUpload: { method: 'POST', path: '/v1/workflows/{uid}/uploads' },
  putUploadPart: { method: 'PUT', path: '/v1/workflows/{uid}/uploads/{uploadId}/parts/{partNumber}' },
  commitUpload: { method: 'POST', path: '/v1/workflows/{uid}/uploads/{uploadId}/commit' },
  diff: { method: 'GET', path: '/v1/workflows/{uid}/diff' },
} as const satisfies Record<string, { method: RequestSpec['method']; path: string }>;

type RouteName = keyof typeof clientRoutes;

/** A route's path with its parameters filled in, each encoded as one segment. */
function routePath(name: RouteName, parameters: Readonly<Record<string, string | number>>): string {
  return clientRoutes[name].path.replace(/\{([A-Za-z]+)\}/g, (_match, parameter: string) => {
    const value = parameters[parameter];
    if (value === undefined) throw new Error(`route ${name} needs ${parameter}`);
    return pathSegment(String(value));
  });
}

export type NodeStatus = { [key: string]: JsonValue };

/** `nodeId -> NodeStatus`, as Argo keeps it in `status.nodes`. */
export type NodeMap = Record<string, NodeStatus>;

/** `{resourceVersion, nodeStatusVersion}`: what a caller needs to retry after a 409. */
export interface CurrentState {
  readonly resourceVersion: string;
  readonly nodeStatusVersion: string;
}

/** The fields every workflow and write response carries. */
export interface WorkflowMetadata {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly message?: string;
  readonly shutdown?: StopStrategy;
  /** Compare-and-set counter; travels quoted in `ETag` / `If-Match`. */
  readonly resourceVersion: string;
  /** Content hash of the current node map. */
  readonly nodeStatusVersion: string;
  readonly nodeCount: number;
  /** Nodes by phase, when the service knows them. */
  readonly phaseCounts?: Readonly<Partial<Record<NodePhase, number>>>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** `GET /v1/workflows/{uid}`: the hydrated workflow. */
export interface WorkflowResponse extends WorkflowMetadata {
  readonly nodes: NodeMap;
}

/** What one write cost. */
export interface WriteStats {
  readonly chunksWritten: number;
  readonly chunksReused: number;
  readonly bytesWritten: number;
  readonly writeUnits: number;
}

/** `PUT` and `PATCH`: the workflow without its nodes, plus what the write cost. */
export interface WriteResponse extends WorkflowMetadata {
  readonly write: WriteStats;
}

/**
 * `POST .../stop` answers "200 with the stopped workflow". Typed loosely on
 * purpose: the contract does not say whether that includes the nodes and the
 * write cost, so both are optional.
 */
export interface StopResponse extends WorkflowMetadata {
  readonly nodes?: NodeMap;
  readonly write?: WriteStats;
}

/** Body of `PUT /v1/workflows/{uid}` (persist full). */
export interface PutWorkflowBody {
  readonly namespace: string;
  readonly name: string;
  readonly phase?: string;
  readonly message?: string;
  readonly nodes: NodeMap;
  /** The version the caller's map was derived from; needed by `onConflict: 'reapply'`. */
  readonly baseVersion?: string;
}

/** Body of `PATCH /v1/workflows/{uid}/nodes` (delta). A set node replaces the whole node. */
/** Some top-level fields of one node to set (each replaced whole) and to drop. */
export interface FieldChange {
  readonly set?: NodeStatus;
  readonly unset?: readonly string[];
}

export interface NodeDelta {
  readonly set?: NodeMap;
  /** Nodes changed field by field. */
  readonly merge?: Readonly<Record<string, FieldChange>>;
  readonly remove?: readonly string[];
  readonly phase?: string;
  readonly message?: string;
  readonly baseVersion?: string;
}

/** One item of `GET /v1/workflows/{uid}/versions`, newest first. */
export interface VersionListItem {
  readonly nodeStatusVersion: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly nodeCount: number;
  readonly storedBytes: number;
  readonly phaseCounts?: Readonly<Partial<Record<NodePhase, number>>>;
  readonly current: boolean;
}

export interface VersionList {
  readonly items: VersionListItem[];
}

/** `GET /v1/workflows/{uid}/versions/{version}`. */
export interface VersionResponse {
  readonly uid: string;
  readonly nodeStatusVersion: string;
  readonly nodes: NodeMap;
}

/**
 * One item of `GET /v1/namespaces/{ns}/workflows`. The contract calls it a
 * "summary" without listing its fields, so only what identifies a workflow is
 * required.
 */
export type WorkflowSummary = Pick<WorkflowMetadata, 'uid' | 'namespace' | 'name' | 'phase'> &
  Partial<Omit<WorkflowMetadata, 'uid' | 'namespace' | 'name' | 'phase'>>;

export interface WorkflowPage {
  readonly items: WorkflowSummary[];
  /** Opaque cursor for the next page; absent on the last page. */
  readonly next?: string;
}

/** One page of `GET /v1/workflows/{uid}/nodes` (docs/protocol.md). */
export interface NodesPage {
  /** How the workflow is now; on an unpinned first page only. */
  readonly workflow?: WorkflowMetadata;
  /** The version the page is from. */
  readonly nodeStatusVersion: string;
  readonly codec: string;
  readonly bucketCount: number;
  /** A full read: the nodes of the buckets this page covers. */
  readonly nodes?: NodeMap;
  /** A read since a version: that version, nodes new or changed since, ids gone. */
  readonly since?: string;
  readonly set?: NodeMap;
  readonly merge?: Record<string, FieldChange>;
  readonly remove?: string[];
  /** Token of the next page; absent on the last. */
  readonly next?: string;
}

/** One node of a diff between two versions. */
export interface DiffEntry {
  readonly id: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly displayName?: string;
  readonly type?: string;
  readonly phaseBefore?: string;
  readonly phaseAfter?: string;
  readonly fields?: readonly string[];
}

/** `GET /v1/workflows/{uid}/diff`: one page of it. */
export interface DiffResponse {
  readonly uid: string;
  readonly from: string;
  readonly to: string;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly nodes: DiffEntry[];
  readonly next?: string;
}

export interface BegunUpload {
  readonly uid: string;
  readonly uploadId: string;
  readonly bucketCount: number;
  readonly expiresAt: string;
  /** Most JSON a part should carry before compression. */
  readonly partBytes: number;
  /** The version the buckets not sent are taken from, with its chunk id per bucket. */
  readonly baseVersion?: string;
  readonly baseChunkIds?: string[];
}

export interface UploadPartResponse {
  readonly uploadId: string;
  readonly partNumber: number;
  readonly buckets: number;
  readonly write: {
    readonly chunksWritten: number;
    readonly bytesWritten: number;
    readonly writeUnits: number;
  };
}

export interface BeginUploadBody {
  readonly namespace: string;
  readonly name: string;
  readonly phase?: string;
  readonly message?: string;
  readonly nodeCount: number;
}

export interface HealthResponse {
  readonly status: string;
}

/** One entry of an EventBridge `PutEvents` request, as `POST /events` takes it. */
export interface PutEventsEntry {
  readonly Source: string;
  readonly DetailType:
    | 'Workflow Nodes Updated'
    | 'Workflow Stop Requested'
    | 'Workflow Deleted'
    | (string & {});
  /** A JSON string on the wire; an object is serialised for you. */
  readonly Detail: string | { readonly [key: string]: unknown };
}

/** EventBridge's `PutEvents` response shape. */
export interface PutEventsResponse {
  readonly FailedEntryCount?: number;
  readonly Entries?: ReadonlyArray<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

/** A response that came with an `ETag`: the resourceVersion, unquoted. */
export type WithEtag<T> = T & { readonly etag: string };

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

export interface WfoApiErrorOptions extends ErrorOptions {
  /** HTTP status; undefined when no response arrived. */
  readonly status?: number;
  /** The contract's error code (`NotFound`, `Conflict`, ...). */
  readonly code?: string;
  /** The parsed error body, when there was one. */
  readonly body?: unknown;
}

/**
 * Base of every error the client throws. `code` is the contract's `error`
 * field and `message` its `message`, so both can be shown to a person.
 */
export class WfoApiError extends Error {
  override readonly name: string = 'WfoApiError';
  readonly status: number | undefined;
  readonly code: string;
  readonly body: unknown;

  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code ?? `Http${options.status ?? ''}`;
    this.body = options.body;
  }
}

/** 400: the request is malformed; the message says what to fix. */
export class BadRequestError extends WfoApiError {
  override readonly name: string = 'BadRequestError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { status: 400, code: 'BadRequest', ...options });
  }
}

/** 404: no such workflow or version (a version may also have expired). */
export class NotFoundError extends WfoApiError {
  override readonly name: string = 'NotFoundError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { status: 404, code: 'NotFound', ...options });
  }
}

/**
 * 409: a compare-and-set lost, the workflow already exists under
 * `ifNoneMatch: '*'`, or a stop hit a completed workflow. `current` is what to
 * retry from, when the server sent it.
 */
export class ConflictError extends WfoApiError {
  override readonly name: string = 'ConflictError';
  constructor(
    message: string,
    readonly current: CurrentState | undefined,
    options: WfoApiErrorOptions = {},
  ) {
    super(message, { status: 409, code: 'Conflict', ...options });
  }
}

/** 410: a version the caller holds (`since`, or a page token's) is past retention: read from the start. */
export class GoneError extends WfoApiError {
  override readonly name: string = 'GoneError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { status: 410, code: 'Gone', ...options });
  }
}

/** 413: the request body is larger than the service accepts. */
export class PayloadTooLargeError extends WfoApiError {
  override readonly name: string = 'PayloadTooLargeError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { status: 413, code: 'PayloadTooLarge', ...options });
  }
}

/** 415: a content type or encoding the service does not read. */
export class UnsupportedMediaTypeError extends WfoApiError {
  override readonly name: string = 'UnsupportedMediaTypeError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { status: 415, code: 'UnsupportedMediaType', ...options });
  }
}

/** 500: the service failed; the message never carries internals. */
export class InternalServerError extends WfoApiError {
  override readonly name: string = 'InternalServerError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { status: 500, code: 'InternalError', ...options });
  }
}

/** 503: try again after `retryAfterSeconds` (from `Retry-After`, when present). */
export class ServiceUnavailableError extends WfoApiError {
  override readonly name: string = 'ServiceUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number | undefined,
    options: WfoApiErrorOptions = {},
  ) {
    super(message, { status: 503, code: 'ServiceUnavailable', ...options });
  }
}

/** No response: connection refused, DNS failure, reset. `cause` is fetch's error. */
export class ConnectionError extends WfoApiError {
  override readonly name: string = 'ConnectionError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { code: 'ConnectionFailed', ...options });
  }
}

/** A response the client cannot read (not JSON, or a corrupt gzip body). */
export class InvalidResponseError extends WfoApiError {
  override readonly name: string = 'InvalidResponseError';
  constructor(message: string, options: WfoApiErrorOptions = {}) {
    super(message, { code: 'InvalidResponse', ...options });
  }
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/** Bounded retry of requests answered with 503. */
export interface RetryPolicy {
  /** Retries after the first attempt: at most `retries + 1` requests. */
  readonly retries: number;
  /** Cap on one wait, whatever `Retry-After` asks for. Default 30. */
  readonly maxDelaySeconds?: number;
  /** Wait when a 503 carries no usable `Retry-After`. Default 1. */
  readonly defaultDelaySeconds?: number;
}

export interface WfoClientOptions {
  /** Service root, e.g. `http://localhost:3000` or an API Gateway stage URL. */
  readonly baseUrl: string;
  /** Gzip request bodies of at least `gzipMinBytes` bytes. Default true. */
  readonly gzip?: boolean;
  /** Default 1024: below that, gzip costs more than it saves. */
  readonly gzipMinBytes?: number;
  /** Retry on 503 honouring `Retry-After`. Off unless given; also settable later via `client.retry`. */
  readonly retry?: RetryPolicy;
  /** Extra headers on every request (e.g. authorisation). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
  /** How to wait between retries; tests replace it to observe the delays. */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

export interface PutWorkflowOptions {
  /** Compare-and-set: the resourceVersion the caller last read (quoted for you). */
  readonly ifMatch?: string;
  /** `'*'`: create only; 409 if the workflow exists. */
  readonly ifNoneMatch?: '*';
  /** On a lost compare-and-set, re-apply the caller's change on top of the winner (needs `baseVersion`). */
  readonly onConflict?: 'reapply';
}

export interface PatchNodesOptions {
  readonly ifMatch?: string;
  readonly onConflict?: 'reapply';
}

export interface StopWorkflowRequest {
  readonly strategy: StopStrategy;
  readonly message?: string;
}

export interface ListWorkflowsOptions {
  readonly limit?: number;
  readonly next?: string;
}

interface RequestSpec {
  readonly method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly etag: string | undefined;
}

/**
 * Client for the workflow-offload HTTP API.
 *
 * Request bodies of 1 KiB or more are gzipped; gzip responses are decoded.
 * Failures throw a {@link WfoApiError} subclass chosen by HTTP status.
 *
 * @example
 * ```ts
 * import { ConflictError, WfoClient } from '#client/wfo-client';
 *
 * const client = new WfoClient({ baseUrl: 'http://localhost:3000', retry: { retries: 3 } });
 * const created = await client.putWorkflow('wf-1', { namespace: 'argo', name: 'hello', nodes: {} }, { ifNoneMatch: '*' });
 * try {
 *   await client.patchNodes('wf-1', { set: { n1: { id: 'n1', phase: 'Running' } } }, { ifMatch: created.etag });
 * } catch (error) {
 *   if (error instanceof ConflictError) console.log('lost to', error.current?.resourceVersion);
 *   else throw error;
 * }
 * for await (const workflow of client.iterateWorkflows('argo')) console.log(workflow.uid, workflow.phase);
 * ```
 */
export class WfoClient {
  readonly baseUrl: string;
  /** Retry on 503; undefined = never retry. Settable at any time. */
  retry: RetryPolicy | undefined;
  private readonly gzipRequests: boolean;
  private readonly gzipMinBytes: number;
  private readonly extraHeaders: Readonly<Record<string, string>>;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (milliseconds: number) => Promise<void>;

  constructor(options: WfoClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.gzipRequests = options.gzip ?? true;
    this.gzipMinBytes = options.gzipMinBytes ?? 1024;
    this.retry = options.retry;
    this.extraHeaders = options.headers ?? {};
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.sleep =
      options.sleep ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
  }

  /** `GET /healthz`. */
  async health(): Promise<HealthResponse> {
    return (await this.request<HealthResponse>({ method: 'GET', path: routePath('health', {}) })).body;
  }

  /**
   * `PUT /v1/workflows/{uid}`: persist the whole node map. `created` is true
   * when the service answered 201.
   */
  async putWorkflow(
    uid: string,
    body: PutWorkflowBody,
    options: PutWorkflowOptions = {},
  ): Promise<WithEtag<WriteResponse> & { readonly created: boolean }> {
    const response = await this.request<WriteResponse>({
      method: 'PUT',
      path: routePath('putWorkflow', { uid }),
      query: { onConflict: options.onConflict },
      body,
      headers: { 'if-match': quoteEtag(options.ifMatch), 'if-none-match': options.ifNoneMatch },
    });
    return { ...withEtag(response), created: response.status === 201 };
  }

  /** `PATCH /v1/workflows/{uid}/nodes`: set and remove some nodes. */
  async patchNodes(
    uid: string,
    delta: NodeDelta,
    options: PatchNodesOptions = {},
  ): Promise<WithEtag<WriteResponse>> {
    const response = await this.request<WriteResponse>({
      method: 'PATCH',
      path: routePath('patchNodes', { uid }),
      query: { onConflict: options.onConflict },
      body: delta,
      headers: { 'if-match': quoteEtag(options.ifMatch) },
    });
    return withEtag(response);
  }

  /** `GET /v1/workflows/{uid}`: the hydrated workflow. */
  async getWorkflow(uid: string): Promise<WithEtag<WorkflowResponse>> {
    return withEtag(
      await this.request<WorkflowResponse>({ method: 'GET', path: routePath('getWorkflow', { uid }) }),
    );
  }

  /** `GET /v1/workflows/{uid}/versions`: versions within retention, newest first. */
  async listVersions(uid: string): Promise<VersionList> {
    return (await this.request<VersionList>({ method: 'GET', path: routePath('listVersions', { uid }) }))
      .body;
  }

  /** `GET /v1/workflows/{uid}/versions/{version}`: one version's nodes, current or superseded. */
  async getVersion(uid: string, nodeStatusVersion: string): Promise<VersionResponse> {
    const path = routePath('getVersion', { uid, version: nodeStatusVersion });
    return (await this.request<VersionResponse>({ method: 'GET', path })).body;
  }

  /** `POST /v1/workflows/{uid}/stop`: idempotent; 409 if the workflow already completed. */
  async stopWorkflow(uid: string, request: StopWorkflowRequest): Promise<WithEtag<StopResponse>> {
    return withEtag(
      await this.request<StopResponse>({
        method: 'POST',
        path: routePath('stopWorkflow', { uid }),
        body: request,
      }),
    );
  }

  /** `DELETE /v1/workflows/{uid}`: removes the record; its data expires by TTL. */
  async deleteWorkflow(uid: string): Promise<void> {
    await this.request<unknown>({ method: 'DELETE', path: routePath('deleteWorkflow', { uid }) });
  }

  /** `GET /v1/namespaces/{ns}/workflows`: one page. Pass `next` from the previous page to continue. */
  async listWorkflows(namespace: string, options: ListWorkflowsOptions = {}): Promise<WorkflowPage> {
    const response = await this.request<WorkflowPage>({
      method: 'GET',
      path: routePath('listWorkflows', { namespace }),
      query: { limit: options.limit, next: options.next },
    });
    return response.body;
  }

  /** Every workflow of a namespace, following `next` page by page. */
  async *iterateWorkflows(
    namespace: string,
    options: { readonly limit?: number } = {},
  ): AsyncGenerator<WorkflowSummary> {
    let next: string | undefined;
    do {
      const page = await this.listWorkflows(namespace, { limit: options.limit, next });
      yield* page.items;
      next = page.next;
    } while (next !== undefined && next !== '');
  }

  /**
   * `GET /v1/workflows/{uid}/nodes`: one page of a version's nodes, or of
   * the change since `since`. Pass the previous page's `next` to continue.
   */
  async readNodes(
    uid: string,
    options: { readonly since?: string; readonly next?: string } = {},
  ): Promise<NodesPage> {
    const query = options.next === undefined ? { since: options.since } : { next: options.next };
    return (await this.request<NodesPage>({ method: 'GET', path: routePath('readNodes', { uid }), query }))
      .body;
  }

  /**
   * `GET /v1/workflows/{uid}/diff`: the nodes added, removed and changed
   * between two versions (default: the previous one and the current one),
   * every page merged.
   */
  async diff(
    uid: string,
    options: { readonly from?: string; readonly to?: string } = {},
  ): Promise<DiffResponse> {
    let page = (
      await this.request<DiffResponse>({
        method: 'GET',
        path: routePath('diff', { uid }),
        query: { from: options.from, to: options.to },
      })
    ).body;
    const nodes = [...page.nodes];
    const first = page;
    while (page.next) {
      page = (
        await this.request<DiffResponse>({
          method: 'GET',
          path: routePath('diff', { uid }),
          query: { next: page.next },
        })
      ).body;
      nodes.push(...page.nodes);
    }
    const count = (kind: DiffEntry['change']) => nodes.filter((entry) => entry.change === kind).length;
    const { next: _next, ...rest } = first;
    return { ...rest, nodes, added: count('added'), removed: count('removed'), changed: count('changed') };
  }

  /** `POST /v1/workflows/{uid}/uploads`: begin a staged upload of a map of `nodeCount` nodes. */
  async beginUpload(uid: string, body: BeginUploadBody): Promise<BegunUpload> {
    return (
      await this.request<BegunUpload>({ method: 'POST', path: routePath('beginUpload', { uid }), body })
    ).body;
  }

  /** `PUT .../uploads/{uploadId}/parts/{partNumber}`: whole buckets, by bucket index. */
  async putUploadPart(
    uid: string,
    uploadId: string,
    partNumber: number,
    buckets: Readonly<Record<number, NodeMap>>,
  ): Promise<UploadPartResponse> {
    const path = routePath('putUploadPart', { uid, uploadId, partNumber });
    return (await this.request<UploadPartResponse>({ method: 'PUT', path, body: { buckets } })).body;
  }

  /** `POST .../uploads/{uploadId}/commit`, with the conditions of a PUT. */
  async commitUpload(
    uid: string,
    uploadId: string,
    body: { readonly baseVersion?: string } = {},
    options: PutWorkflowOptions = {},
  ): Promise<WithEtag<WriteResponse> & { readonly created: boolean }> {
    const response = await this.request<WriteResponse>({
      method: 'POST',
      path: routePath('commitUpload', { uid, uploadId }),
      query: { onConflict: options.onConflict },
      body,
      headers: { 'if-match': quoteEtag(options.ifMatch), 'if-none-match': options.ifNoneMatch },
    });
    return { ...withEtag(response), created: response.status === 201 };
  }

  /** `POST /events`: deliver events as EventBridge would (local runtime). */
  async putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventsResponse> {
    const Entries = entries.map((entry) => ({
      Source: entry.Source,
      DetailType: entry.DetailType,
      Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail),
    }));
    return (await this.request<PutEventsResponse>({ method: 'POST', path: '/events', body: { Entries } }))
      .body;
  }

  private async request<T>(spec: RequestSpec): Promise<ApiResponse<T>> {
    const url = this.baseUrl + spec.path + queryString(spec.query);
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'br, gzip' };
    for (const [name, value] of Object.entries({ ...this.extraHeaders, ...spec.headers })) {
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    let body: Uint8Array | string | undefined;
    if (spec.body !== undefined) {
      const json = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
      if (this.gzipRequests && Buffer.byteLength(json) >= this.gzipMinBytes) {
        body = new Uint8Array(await gzip(json));
        headers['content-encoding'] = 'gzip';
      } else {
        body = json;
      }
    }

    for (let attempt = 0; ; attempt++) {
      const response = await this.send(url, { method: spec.method, headers, body });
      const parsed = await readBody(response);
      if (response.ok) {
        return {
          status: response.status,
          body: parsed as T,
          etag: unquoteEtag(response.headers.get('etag')),
        };
      }
      const error = toApiError(response, parsed);
      const delay =
        error instanceof ServiceUnavailableError ? this.retryDelaySeconds(error, attempt) : undefined;
      if (delay === undefined) throw error;
      await this.sleep(delay * 1000);
    }
  }

  /**
   * One fetch. A kept-alive connection the server closed as the request went
   * out means the server never saw it, so an idempotent request is sent again,
   * once; any other failure to reach the server is a {@link ConnectionError}.
   */
  private async send(url: string, init: RequestInit & { method: string }): Promise<Response> {
    for (let resend = idempotentMethods.has(init.method); ; resend = false) {
      try {
        return await this.fetchImpl(url, init);
      } catch (error) {
        if (resend && closedByPeer(error)) continue;
        throw new ConnectionError(`cannot reach ${this.baseUrl}: ${describeCause(error)}`, { cause: error });
      }
    }
  }

  /** Seconds to wait before retrying, or undefined when the policy says stop. */
  private retryDelaySeconds(error: ServiceUnavailableError, attempt: number): number | undefined {
    const policy = this.retry;
    if (policy === undefined || attempt >= policy.retries) return undefined;
    const wanted = error.retryAfterSeconds ?? policy.defaultDelaySeconds ?? 1;
    return Math.min(wanted, policy.maxDelaySeconds ?? 30);
  }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Encodes one path segment; `:` is legal in a segment (and in uids) so it stays readable. */
const pathSegment = (value: string): string => encodeURIComponent(value).replaceAll('%3A', ':');

function queryString(query: RequestSpec['query']): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** `7` -> `"7"`; an already quoted or `*` value is sent as is. */
function quoteEtag(resourceVersion: string | undefined): string | undefined {
  if (resourceVersion === undefined) return undefined;
  if (resourceVersion === '*' || /^(W\/)?".*"$/.test(resourceVersion)) return resourceVersion;
  return `"${resourceVersion}"`;
}

/** `"7"` or `W/"7"` -> `7`. */
function unquoteEtag(etag: string | null | undefined): string | undefined {
  if (etag === null || etag === undefined || etag === '') return undefined;
  const match = /^(?:W\/)?"(.*)"$/.exec(etag.trim());
  return match?.[1] ?? etag.trim();
}

function withEtag<T extends { readonly resourceVersion?: string }>(response: ApiResponse<T>): WithEtag<T> {
  if (!isRecord(response.body)) {
    throw new InvalidResponseError(`expected a JSON object (HTTP ${response.status})`, {
      status: response.status,
    });
  }
  return { ...response.body, etag: response.etag ?? response.body.resourceVersion ?? '' };
}

const idempotentMethods = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** The socket was closed by the other side (a kept-alive connection timing out), not refused. */
function closedByPeer(error: unknown): boolean {
  for (
    let cause = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    cause && depth < 4;
    depth++
  ) {
    if (cause.code === 'UND_ERR_SOCKET' || cause.code === 'ECONNRESET') return true;
    cause = cause.cause as typeof cause;
  }
  return false;
}

/**
 * Reads and parses a response body. Node's fetch already decodes gzip and
 * brotli; a custom `fetch` may not, so the body decides: the gzip magic
 * number (JSON never starts with 0x1f), or, for brotli, which has none, a
 * first byte that cannot begin this service's JSON.
 */
/** The service's JSON begins with `{` or `[`, perhaps after whitespace. */
const looksLikeJson = (bytes: Buffer): boolean => {
  const first = bytes.find((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
  return first === 0x7b || first === 0x5b;
};

async function readBody(response: Response): Promise<unknown> {
  let bytes: Buffer = Buffer.from(await response.arrayBuffer());
  const encoding = response.headers.get('content-encoding') ?? '';
  try {
    if (/\bgzip\b/i.test(encoding) && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes);
    else if (/\bbr\b/i.test(encoding) && bytes.length > 0 && !looksLikeJson(bytes))
      bytes = await brotliDecompress(bytes);
  } catch (error) {
    throw new InvalidResponseError(`corrupt ${encoding} response (HTTP ${response.status})`, {
      status: response.status,
      cause: error,
    });
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    // An error page from a proxy in front of the service is still an error of its status.
    if (!response.ok) return text;
    throw new InvalidResponseError(`response is not JSON (HTTP ${response.status}): ${text.slice(0, 80)}`, {
      status: response.status,
      cause: error,
    });
  }
}

/** Maps a non-2xx response to the error class of its status. */
function toApiError(response: Response, body: unknown): WfoApiError {
  const status = response.status;
  const fields = isRecord(body) ? body : {};
  const code = typeof fields.error === 'string' ? fields.error : undefined;
  const message =
    typeof fields.message === 'string' && fields.message !== ''
      ? fields.message
      : `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const options: WfoApiErrorOptions = { status, body, ...(code === undefined ? {} : { code }) };
  switch (status) {
    case 400:
      return new BadRequestError(message, options);
    case 404:
      return new NotFoundError(message, options);
    case 409:
      return new ConflictError(message, currentState(fields.current), options);
    case 410:
      return new GoneError(message, options);
    case 413:
      return new PayloadTooLargeError(message, options);
    case 415:
      return new UnsupportedMediaTypeError(message, options);
    case 500:
      return new InternalServerError(message, options);
    case 503:
      return new ServiceUnavailableError(
        message,
        parseRetryAfter(response.headers.get('retry-after')),
        options,
      );
    default:
      return new WfoApiError(message, options);
  }
}

function currentState(value: unknown): CurrentState | undefined {
  if (!isRecord(value)) return undefined;
  const { resourceVersion, nodeStatusVersion } = value;
  if (typeof resourceVersion !== 'string' || typeof nodeStatusVersion !== 'string') return undefined;
  return { resourceVersion, nodeStatusVersion };
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function describeCause(error: unknown): string {
  // fetch wraps the socket error: "fetch failed" with the useful part in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
