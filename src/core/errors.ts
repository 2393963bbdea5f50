/** Typed errors thrown inside and rendered once at the HTTP edge as {error:{code,message}}. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, readonly field?: string) {
    super(400, 'invalid-request', message, field ? { field } : undefined);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'you do not have permission to do this') {
    super(403, 'forbidden', message);
  }
}
export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, 'not-found', `${what} not found`);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, field?: string) {
    super(409, 'conflict', message, field ? { field } : undefined);
  }
}
export class LockedError extends AppError {
  constructor(message: string) {
    super(423, 'locked', message);
  }
}
export class TooManyRequestsError extends AppError {
  constructor(message = 'too many requests, slow down') {
    super(429, 'rate-limited', message);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(413, 'payload-too-large', message);
  }
}
export class UnavailableError extends AppError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}
