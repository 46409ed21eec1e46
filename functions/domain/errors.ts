/**
 * Domain errors. Each has a stable `name`; the HTTP edge maps them to status
 * codes in one place (`functions/lambda/errors.ts`). Nothing here knows HTTP.
 */
export class WorkflowOffloadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller sent something the service cannot accept; the message says what to fix. */
export class ValidationError extends WorkflowOffloadError {}

/** The request body is larger than the configured limit. */
export class PayloadTooLargeError extends WorkflowOffloadError {}

/** The request body has a content type or encoding the service does not read. */
export class UnsupportedMediaTypeError extends WorkflowOffloadError {}

export class WorkflowNotFoundError extends WorkflowOffloadError {
  constructor(readonly uid: string) {
    super(`workflow '${uid}' does not exist`);
  }
}

export class VersionNotFoundError extends WorkflowOffloadError {
  constructor(
    readonly uid: string,
    readonly nodeStatusVersion: string,
  ) {
    super(`version '${nodeStatusVersion}' of workflow '${uid}' does not exist or has expired`);
  }
}

/**
 * A version the caller holds (`since`, or the version a page token pins) is
 * no longer within retention: start over with a full read.
 */
export class VersionGoneError extends WorkflowOffloadError {
  constructor(
    readonly uid: string,
    readonly nodeStatusVersion: string,
  ) {
    super(
      `version '${nodeStatusVersion}' of workflow '${uid}' is no longer held (past its retention): read the workflow again from the start, without since or next`,
    );
  }
}

/** An upload that does not exist, has expired, or belongs to another workflow. */
export class UploadNotFoundError extends WorkflowOffloadError {
  constructor(
    readonly uid: string,
    readonly uploadId: string,
  ) {
    super(`upload '${uploadId}' of workflow '${uid}' does not exist or has expired: begin a new one`);
  }
}

/** What a caller needs to retry after losing a compare-and-set. */
export interface CurrentState {
  readonly resourceVersion: string;
  readonly nodeStatusVersion: string;
}

/**
 * A conditional write lost: `If-Match` named a stale resourceVersion, the
 * workflow already exists under `If-None-Match: *`, or the workflow is completed.
 */
export class ConflictError extends WorkflowOffloadError {
  constructor(
    message: string,
    readonly current: CurrentState | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * An item that a version the record points at (or pointed at within the
 * retention window) needs is missing. This is the failure the whole design
 * exists to prevent; it is never turned into an empty node map.
 */
export class VersionMissingError extends WorkflowOffloadError {
  constructor(
    readonly uid: string,
    readonly nodeStatusVersion: string,
    readonly missingKeys: readonly string[],
  ) {
    super(
      `version '${nodeStatusVersion}' of workflow '${uid}' is incomplete: ${missingKeys.length} item(s) missing (first: ${missingKeys[0] ?? 'manifest'})`,
    );
  }
}

/** The database is throttling or unreachable; the caller should retry later. */
export class StoreUnavailableError extends WorkflowOffloadError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Compare-and-set kept losing to concurrent writers within the retry budget. */
export class ContentionError extends StoreUnavailableError {}
