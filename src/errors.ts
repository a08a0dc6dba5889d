/**
 * Typed errors. Every error Signet raises on purpose is a SignetError with a
 * code from the table below; the CLI maps codes to exit codes in one place
 * (src/cli/exit-codes.ts) and prints the message on one line.
 *
 * Messages are lower-case, name the object they are about, and never contain
 * credentials (see redact() in src/core/redact.ts).
 */

/**
 * Every error code and its process exit code. cosign's verify codes come
 * first (10 no signatures, 11 image not found, 12 no matching signature,
 * 13 no certificate); Signet adds a distinct code per class of bad input.
 * Keep this table the single source of truth: docs/exit-codes.md mirrors it.
 */
export const ERROR_EXIT_CODES = {
  // generic
  INTERNAL: 1,
  USAGE: 2,
  IO: 3,
  // cosign verify (cmd/cosign/errors/exit_codes.go)
  NO_SIGNATURES_FOUND: 10,
  IMAGE_NOT_FOUND: 11,
  NO_MATCHING_SIGNATURE: 12,
  NO_CERTIFICATE_ON_SIGNATURE: 13,
  // references and input files
  INVALID_REFERENCE: 20,
  MALFORMED_INPUT: 21,
  CREDENTIALS_ERROR: 22,
  // keys
  KEY_INCORRECT_PASSWORD: 30,
  KEY_MALFORMED: 31,
  KEY_UNSUPPORTED: 32,
  KEY_WRONG_KIND: 33,
  KEY_FILE_EXISTS: 34,
  // registry
  REGISTRY_UNAUTHORIZED: 40,
  REGISTRY_DENIED: 41,
  REGISTRY_NOT_FOUND: 42,
  REGISTRY_UNSUPPORTED: 43,
  REGISTRY_PROTOCOL: 44,
  REGISTRY_DIGEST_MISMATCH: 45,
  REGISTRY_TOO_LARGE: 46,
  REGISTRY_UNAVAILABLE: 47,
  REGISTRY_INSECURE_REFUSED: 48,
  REGISTRY_CONFLICT: 49,
  // transparency log
  TLOG_UNAVAILABLE: 50,
  TLOG_PROTOCOL: 51,
  TLOG_REJECTED: 52,
  TLOG_VERIFICATION: 53,
  TLOG_NOT_FOUND: 54,
  // one signature layer (verify folds these into NO_MATCHING_SIGNATURE)
  SIGNATURE_MALFORMED: 60,
  SIGNATURE_INVALID: 61,
  PAYLOAD_MALFORMED: 62,
  CLAIM_MISMATCH: 63,
  ATTACHMENT_TOO_LARGE: 64,
} as const;

export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

export class SignetError extends Error {
  override name = 'SignetError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions
  ) {
    super(message, options);
  }
}

/** A security "no": the signature, proof or claim does not hold. */
export class VerificationError extends SignetError {
  override name = 'VerificationError';
}

/** A bad key file, an unsupported key type or a wrong password. */
export class KeyError extends SignetError {
  override name = 'KeyError';
}

/** The user asked for something that does not make sense. */
export class UsageError extends SignetError {
  override name = 'UsageError';
  constructor(message: string, options?: ErrorOptions) {
    super('USAGE', message, options);
  }
}

/** OCI distribution wire error codes (distribution-spec "Error Codes"). */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

/** A registry said no, or said something we cannot use. */
export class RegistryError extends SignetError {
  override name = 'RegistryError';
  readonly status: number | undefined;
  readonly ociCode: string | undefined;
  readonly retryable: boolean;
  constructor(
    code: ErrorCode,
    message: string,
    details: {
      status?: number;
      ociCode?: string;
      retryable?: boolean;
    } = {},
    options?: ErrorOptions
  ) {
    super(code, message, options);
    this.status = details.status;
    this.ociCode = details.ociCode;
    this.retryable = details.retryable ?? false;
  }
}

/** The transparency log failed, refused, or answered something unusable. */
export class TlogError extends SignetError {
  override name = 'TlogError';
  readonly status: number | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    status?: number,
    options?: ErrorOptions
  ) {
    super(code, message, options);
    this.status = status;
  }
}

export function isSignetError(e: unknown): e is SignetError {
  return e instanceof SignetError;
}
