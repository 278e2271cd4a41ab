// Every error leaves the service as `{ "error": { code, message, details? } }` (SPEC §10). Application errors
// keep their code; validation and parser errors get stable codes; a database outage answers 503 with a
// retryable code; anything else is logged in full and answered with a 500 that reveals nothing but a request id.
import http from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { AppError } from "../lib/errors.js";

const PARSER_ERRORS: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError("PAYLOAD_TOO_LARGE", "request body too large"),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new AppError("UNSUPPORTED_MEDIA_TYPE", "unsupported content type: send application/json"),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError("MALFORMED_JSON", "request body is not valid JSON"),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new AppError("MALFORMED_JSON", "request body is empty but JSON was announced"),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new AppError("VALIDATION_FAILED", "content-length does not match the body"),
};

// PostgreSQL and driver conditions that mean "the database is not there right now": retrying later is right.
const DATABASE_UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);

function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (e.code !== undefined && (DATABASE_UNAVAILABLE.has(e.code) || e.code.startsWith("08"))) return true;
  return (
    typeof e.message === "string" &&
    /Connection terminated|timeout exceeded when trying to connect/.test(e.message)
  );
}

export function toAppError(error: FastifyError | Error): AppError | null {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      where: (error as { validationContext?: string }).validationContext ?? "body",
      path: v.instancePath.replace(/^\//, "").replaceAll("/", ".") || undefined,
      message: v.message ?? "invalid",
    }));
    const unknownFields = error.validation
      .filter((v) => v.keyword === "unrecognized_keys")
      .flatMap((v) => ((v.params as { keys?: string[] }).keys ?? []) as string[]);
    return new AppError("VALIDATION_FAILED", "the request does not match the expected shape", {
      issues,
      ...(unknownFields.length > 0 ? { unknown_fields: unknownFields } : {}),
    });
  }
  const code = (error as FastifyError).code;
  const parser = code === undefined ? undefined : PARSER_ERRORS[code];
  if (parser) return parser();
  if (isDatabaseUnavailable(error)) {
    return new AppError("SERVICE_UNAVAILABLE", "the database is unavailable: retry shortly", {
      retryable: true,
    });
  }
  const status = (error as FastifyError).statusCode;
  if (status === 404) return new AppError("NOT_FOUND", "not found");
  if (status !== undefined && status >= 400 && status < 500) {
    return new AppError("VALIDATION_FAILED", "the request could not be processed as sent");
  }
  return null;
}

/**
 * The router's own refusals (a URL with bad percent-encoding, a path segment over the length limit) are answered
 * before any route or error handler runs; without this Fastify writes them in its own shape (Fastify option
 * `frameworkErrors`).
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known =
    error.code === "FST_ERR_MAX_PARAM_LENGTH"
      ? new AppError("VALIDATION_FAILED", "a path segment is longer than any id this service uses", {
          issues: [{ where: "params", message: "too long" }],
        })
      : new AppError("VALIDATION_FAILED", "the URL is not valid (bad percent-encoding)", {
          issues: [{ where: "url", message: "invalid" }],
        });
  void reply.code(known.statusCode).send(known.toJSON());
}

/**
 * A request Node's HTTP parser cannot read (garbage, headers over the size limit, too slow) never reaches
 * Fastify; it is answered on the socket, in the same envelope (Fastify option `clientErrorHandler`).
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const known =
    error.code === "HPE_HEADER_OVERFLOW"
      ? new AppError("HEADERS_TOO_LARGE", "request headers too large")
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? new AppError("REQUEST_TIMEOUT", "the request took too long to arrive")
        : new AppError("VALIDATION_FAILED", "malformed HTTP request");
  const body = JSON.stringify(known.toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.statusCode} ${http.STATUS_CODES[known.statusCode]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toAppError(error);
    if (known) {
      if (known.statusCode >= 500) request.log.warn({ err: error }, "request failed: %s", known.code);
      if (known.code === "RATE_LIMITED" || known.code === "LOGIN_THROTTLED") {
        const retry = known.details?.retry_after_seconds;
        if (typeof retry === "number") void reply.header("retry-after", String(retry));
      }
      return reply.code(known.statusCode).send(known.toJSON());
    }
    request.log.error({ err: error }, "unhandled error");
    return reply
      .code(500)
      .send({ error: { code: "INTERNAL", message: "internal error", details: { request_id: request.id } } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(new AppError("NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`).toJSON()),
  );
}
