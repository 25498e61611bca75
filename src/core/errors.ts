/**
 * Failures (not user mistakes, which are Diagnostics): typed, with `cause`,
 * and with messages in the user's terms. Messages never contain credentials.
 */
export type ErrorCode =
  | 'CONFIG'
  | 'USAGE'
  | 'HTTP'
  | 'API'
  | 'AUTH'
  | 'CONFLICT'
  | 'STALE_PLAN'
  | 'LIMIT'
  | 'GIT'
  | 'IO'
  | 'INTERNAL';

export class ConnopsError extends Error {
  override name = 'ConnopsError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A transport failure: no usable HTTP response (connection refused/reset, timeout). */
export class HttpError extends ConnopsError {
  override name = 'HttpError';
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, message: string, options?: ErrorOptions) {
    super('HTTP', message, options);
    this.method = method;
    this.path = path;
  }
}

/** The API answered with an error status. `apiMessage` is the API's own text. */
export class ApiError extends ConnopsError {
  override name = 'ApiError';
  readonly status: number;
  readonly apiMessage: string;
  /** Per-field problems (JSON Pointer inside the body → message), e.g. Kazoo validation errors. */
  readonly fields: Readonly<Record<string, string>>;
  readonly requestId?: string;
  constructor(
    code: ErrorCode,
    message: string,
    details: {
      status: number;
      apiMessage: string;
      fields?: Record<string, string>;
      requestId?: string;
    },
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.status = details.status;
    this.apiMessage = details.apiMessage;
    this.fields = details.fields ?? {};
    if (details.requestId !== undefined) this.requestId = details.requestId;
  }
}

/** Usage mistakes on the command line (exit 64). */
export class UsageError extends ConnopsError {
  override name = 'UsageError';
  constructor(message: string) {
    super('USAGE', message);
  }
}
