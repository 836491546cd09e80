/**
 * Every error wp reports on purpose. `main` prints `message` (and `hint`, the fix, last) as one
 * line on stderr and returns `exitCode`; anything else is an unexpected failure (exit 1).
 */
export class WpError extends Error {
  readonly exitCode: number = 1;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input or a value missing without a terminal: exit 2, nothing changed. */
export class UsageError extends WpError {
  override readonly exitCode = 2;
}

/** Not authenticated or not authorised: exit 4. */
export class AuthError extends WpError {
  override readonly exitCode = 4;
}

/** The user declined a confirmation: exit 1 with a soft message. */
export class AbortError extends WpError {}

/** A Prefect API call failed with an HTTP status. */
export class ApiError extends WpError {
  constructor(
    message: string,
    readonly status: number,
    hint?: string,
  ) {
    super(message, hint);
  }
}

/** A cloud call failed; `code` is the provider's error code (e.g. "EntityAlreadyExists"). */
export class CloudError extends WpError {
  constructor(
    message: string,
    readonly code?: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}

/** Formats an error as the one line wp prints. */
export function errorLine(err: WpError): string {
  return err.hint ? `${err.message} ${err.hint}` : err.message;
}
