/**
 * One hierarchy of typed errors. Each carries the HTTP status and the stable code a client sees;
 * they are turned into a response in exactly one place per surface (OAuth or JSON API).
 */
export class CcauthError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** RFC 6749 section 5.2 errors of the token endpoint. */
export class OAuthError extends CcauthError {
  toBody(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}

export class InvalidRequestError extends OAuthError {
  constructor(message: string) {
    super(400, 'invalid_request', message);
  }
}

export class InvalidClientError extends OAuthError {
  constructor(message = 'Client authentication failed', usedBasic = false) {
    super(401, 'invalid_client', message, usedBasic ? { 'www-authenticate': 'Basic realm="ccauth", charset="UTF-8"' } : {});
  }
}

export class UnsupportedGrantTypeError extends OAuthError {
  constructor(message: string) {
    super(400, 'unsupported_grant_type', message);
  }
}

export class InvalidScopeError extends OAuthError {
  constructor(message: string) {
    super(400, 'invalid_scope', message);
  }
}

export class TemporarilyUnavailableError extends OAuthError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'temporarily_unavailable', message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/**
 * A dependency (the store) cannot be reached now: 503 `temporarily_unavailable` with Retry-After.
 * An OAuthError so the token endpoint answers in RFC 6749 5.2 form; the gateway and the admin API
 * answer it as `{"error","message"}` like every CcauthError.
 */
export class ServiceUnavailableError extends OAuthError {
  constructor(message = 'The service is temporarily unavailable; try again shortly', retryAfterSeconds = 5, options?: { cause?: unknown }) {
    super(503, 'temporarily_unavailable', message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Errors of the JSON APIs (`{"error","message"}`) and of the CLI. */
export class ApiError extends CcauthError {
  toBody(): { error: string; message: string } {
    return { error: this.code, message: this.message };
  }
}

export class ValidationError extends ApiError {
  constructor(message: string, code = 'invalid_request') {
    super(400, code, message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message = 'Not found') {
    super(404, 'not_found', message);
  }
}

export class ConflictError extends ApiError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class ForbiddenError extends ApiError {
  constructor(message: string, code = 'forbidden') {
    super(403, code, message);
  }
}
