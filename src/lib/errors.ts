// The one error class the application throws on purpose. Every code is stable (clients branch on it) and maps
// to one HTTP status; the message is for people; details carry structured facts, never secrets or personal data.

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  KIOSK_CHALLENGE_INVALID: 401,
  KIOSK_SIGNATURE_INVALID: 401,
  KIOSK_REVOKED: 403,
  INVALID_CREDENTIALS: 401,
  PASSWORD_CHANGE_REQUIRED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VOTER_NOT_ON_ROLL: 404,
  TOKEN_NOT_FOUND: 404,
  TOKEN_UNKNOWN: 404,
  LOG_SIZE_UNKNOWN: 404,
  NO_CHECKPOINT: 404,
  TRACKING_CODE_AMBIGUOUS: 409,
  USERNAME_TAKEN: 409,
  LAST_ADMIN: 409,
  USER_DISABLED: 409,
  ALREADY_MEMBER: 409,
  ALREADY_CHECKED_IN: 409,
  RESULTS_SEALED: 409,
  NOT_TALLIED: 409,
  ELECTION_NOT_CLOSED: 409,
  TALLY_RUNNING: 409,
  ALREADY_TALLIED: 409,
  ALREADY_APPROVED: 409,
  TOKEN_ALREADY_USED: 409,
  TOKEN_VOIDED: 409,
  TOKEN_WRONG_TPS: 409,
  BALLOT_ID_REUSED: 409,
  WRONG_TPS: 409,
  OUTSIDE_SCHEDULE: 409,
  NOT_CHECKED_IN: 409,
  REISSUE_NOT_ALLOWED: 409,
  TOKEN_NOT_VOIDABLE: 409,
  ALREADY_ON_ROLL: 409,
  DPK_NOT_RESIDENT: 422,
  VOTER_INELIGIBLE: 422,
  KIOSK_KEY_TAKEN: 409,
  BALLOT_NUMBER_TAKEN: 409,
  TPS_CODE_TAKEN: 409,
  TPS_IN_USE: 409,
  ELECTION_NOT_DRAFT: 409,
  ELECTION_NOT_OPEN: 409,
  ELECTION_NOT_CANCELLABLE: 409,
  ELECTION_CANCELLED: 409,
  CANDIDATES_TOO_FEW: 409,
  CANDIDATES_TOO_MANY: 409,
  CANDIDATE_NUMBERS_NOT_CONSECUTIVE: 409,
  TPS_MISSING: 409,
  TPS_AREA_MISSING: 409,
  QUORUM_UNREACHABLE: 409,
  APPROVAL_SIGNATURE_INVALID: 422,
  ROLL_EMPTY: 409,
  TALLY_KEY_MISSING: 409,
  LOG_NOT_EMPTY: 409,
  TALLY_KEY_EXISTS: 409,
  HOLDER_KEY_MISSING: 409,
  NOT_A_HOLDER: 404,
  SHARE_ALREADY_HANDED_OVER: 410,
  CEREMONY_INVALID: 422,
  ROLL_TPS_MISSING: 409,
  SCHEDULE_PASSED: 409,
  PASSWORD_REUSED: 422,
  BALLOT_SIGNATURE_INVALID: 422,
  BALLOT_MALFORMED: 422,
  PASSWORD_TOO_WEAK: 422,
  SCHEDULE_INVALID: 422,
  ROLL_COLUMNS_MISSING: 422,
  ROLL_EMPTY_FILE: 422,
  ROLL_CSV_MALFORMED: 422,
  ROLL_ENCODING_INVALID: 422,
  ROLL_REJECTED: 422,
  ROLL_CONTEXT_CHANGED: 409,
  ROLL_HAS_INELIGIBLE: 409,
  ROLL_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  LOGIN_THROTTLED: 429,
  RATE_LIMITED: 429,
  TOKEN_GUESSING_THROTTLED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
  TOKEN_EXPIRED: 410,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.statusCode = ERROR_STATUS[code];
    this.details = details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
