// Input hygiene (SPEC §10: bad input gets a clear 4xx and loses nothing). Two kinds of text pass a zod string
// schema yet cannot be kept as sent: U+0000, which PostgreSQL refuses in text (the request would end in a 500),
// and lone UTF-16 surrogates (a "\ud800" escape in JSON), which the driver would store silently replaced by
// U+FFFD, as it would bytes that are not UTF-8 — an altered name on the roll or in the minutes is worse than a
// refusal. So a JSON body must be valid UTF-8, and no string (nor key) of a body, query or path may hold either;
// the refusal names where it found it. JSON routes take JSON only.
import { isUtf8 } from "node:buffer";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../lib/errors.js";

// A NUL, or a surrogate not paired with its other half.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Parsed data (JSON, a query string's object with its own null-ish prototype), not a stream or bytes. */
function isParsedContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (value === null || typeof value !== "object") return false;
  return !(Symbol.asyncIterator in value) && !ArrayBuffer.isView(value);
}

/**
 * The path of the first string or key holding text that cannot be stored as sent, or null. Walks with its own
 * stack, not recursion, so a body nested a hundred thousand deep cannot overflow the call stack. Anything that
 * is not plain parsed data (a streamed CSV body, a Buffer) is not looked into.
 */
export function findUnstorableText(value: unknown): string | null {
  const stack: Array<[unknown, string]> = [[value, ""]];
  while (stack.length > 0) {
    const [current, path] = stack.pop() as [unknown, string];
    if (typeof current === "string") {
      if (UNSTORABLE.test(current)) return path;
    } else if (isParsedContainer(current)) {
      // Pushed in reverse, so the first bad text in the body's own order is the one named.
      for (const [key, child] of Object.entries(current).reverse()) {
        const childPath = path === "" ? key : `${path}.${key}`;
        if (UNSTORABLE.test(key)) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return null;
}

function refuseUnstorable(request: FastifyRequest): void {
  const parts = [
    ["params", request.params],
    ["querystring", request.query],
    ["body", request.body],
  ] as const;
  for (const [where, value] of parts) {
    const path = findUnstorableText(value);
    if (path !== null) {
      throw new AppError(
        "VALIDATION_FAILED",
        "text may not contain U+0000 or unpaired surrogates (it would not be kept as sent)",
        { issues: [{ where, ...(path === "" ? {} : { path }), message: "unstorable character" }] },
      );
    }
  }
}

async function inputPlugin(app: FastifyInstance): Promise<void> {
  // Fastify's own JSON parser (with its prototype-poisoning checks), fed only bytes that are valid UTF-8.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(new AppError("MALFORMED_JSON", "request body is not valid UTF-8"), undefined);
      return;
    }
    parseJson(request, bytes.toString("utf8"), done);
  });
  // Fastify also takes text/plain by default, handing JSON routes a string they then call the wrong shape:
  // without it such a body is 415 UNSUPPORTED_MEDIA_TYPE, as any other type is. (The roll import declares
  // its own CSV types, text/plain among them.)
  app.removeContentTypeParser("text/plain");
  app.addHook("preValidation", async (request) => refuseUnstorable(request));
}

export default fp(inputPlugin, { name: "suara-input" });
