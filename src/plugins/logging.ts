// pino options for the service. Logs must never hold a NIK, a ballot token, a ballot, a password or a bearer
// token (SPEC §5): headers that carry credentials are redacted, request bodies are never logged, any field
// named like a secret is censored wherever it appears, and a 16-digit run (a NIK typed into a URL by mistake)
// is masked in logged URLs.
import type { FastifyServerOptions } from "fastify";
import type { Config } from "../config.js";

export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "*.password",
  "*.current_password",
  "*.new_password",
  "*.one_time_password",
  "*.access_token",
  "*.token",
  "*.nik",
  "*.nkk",
  "*.ballot",
  "*.share",
];

/** Masks digit runs as long as a NIK or longer, wherever they appear in a URL. */
export function maskUrl(url: string): string {
  return url.replace(/\d{12,}/g, "[masked]");
}

export function loggerOptions(
  config: Config,
  stream?: NodeJS.WritableStream,
): FastifyServerOptions["logger"] {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: {
      // PostgreSQL errors can quote the failing row (detail, where): never log those parts.
      err(error: Error & { detail?: unknown; where?: unknown; parameters?: unknown }) {
        const { detail: _detail, where: _where, parameters: _parameters, ...rest } = error;
        return { ...rest, type: error.name, message: maskUrl(error.message), stack: error.stack ?? "" };
      },
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, url: maskUrl(request.url), remote_address: request.ip };
      },
    },
    ...(stream ? { stream } : {}),
  };
}
