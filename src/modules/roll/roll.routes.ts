// HTTP routes of the voter roll: import (CSV body or multipart upload, streamed), the committee's list, and the
// per-TPS summary.
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { commonErrors, uuid } from "../../lib/schemas.js";
import { roles } from "../../plugins/access.js";
import { actorIn, requirePrincipal } from "../../plugins/auth.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import { type ImportReport, importRoll, rollTooLarge as tooLarge } from "./roll.import.js";
import { listRoll, rollSummary } from "./roll.service.js";

const CSV_TYPES = [
  "text/csv",
  "application/csv",
  "text/plain",
  "application/vnd.ms-excel",
  "application/octet-stream",
];

const importQuery = z.strictObject({
  mode: z.enum(["all-or-nothing", "partial"]).default("all-or-nothing"),
  dry_run: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  encoding: z.enum(["utf-8", "windows-1252"]).default("utf-8"),
});

const problem = z.object({
  line: z.number().int(),
  column: z.string().nullable(),
  code: z.string(),
  severity: z.enum(["error", "warning"]),
  message: z.string(),
});

export const importReport = z.object({
  applied: z.boolean(),
  mode: z.enum(["all-or-nothing", "partial"]),
  dry_run: z.boolean(),
  delimiter: z.string().nullable(),
  counts: z.object({
    read: z.number().int(),
    inserted: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    rejected: z.number().int(),
    warnings: z.number().int(),
  }),
  problem_counts: z.record(z.string(), z.number().int()),
  problems: z.array(problem),
  problems_truncated: z.boolean(),
});

const rollQuery = z.strictObject({
  cursor: z.string().max(400).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  tps_id: uuid.optional(),
  q: z.string().max(100).optional().describe("part of the name"),
});

const rollItem = z.object({
  id: z.uuid(),
  nik_masked: z.string().describe("e.g. 1607xxxxxxxx0003"),
  name: z.string(),
  sex: z.enum(["L", "P"]),
  birth_year: z.number().int(),
  tps_id: z.uuid(),
  tps_code: z.string(),
  dusun: z.string().nullable(),
  rt: z.string().nullable(),
  rw: z.string().nullable(),
  disability: z.boolean(),
  origin: z.enum(["dpt", "dpk"]),
});

const counts = {
  registered: z.number().int(),
  male: z.number().int(),
  female: z.number().int(),
  with_disability: z.number().int(),
  dpk: z.number().int(),
};

export const rollRoutes: FastifyPluginAsyncZod<{ db: Db; pool: pg.Pool; config: Config }> = async (
  app,
  { db, pool, config },
) => {
  const maxBytes = config.ROLL_UPLOAD_MAX_BYTES;
  // The body is streamed into the importer, never buffered: hand the raw request stream over.
  app.addContentTypeParser(CSV_TYPES, (_request, payload, done) => done(null, payload));
  await app.register(multipart, { limits: { files: 1, fields: 0, fileSize: maxBytes } });

  app.post(
    "/elections/:electionId/roll",
    {
      config: { access: roles("committee") },
      bodyLimit: maxBytes,
      schema: {
        tags: ["roll"],
        summary: "Import the DPT from CSV (body as text/csv, or multipart field 'file'), streamed",
        description:
          "All-or-nothing by default: any rejected row leaves the roll exactly as it was (422 ROLL_REJECTED with " +
          "the report). mode=partial applies the valid rows. dry_run=true validates and reports without writing.",
        params: electionParams,
        querystring: importQuery,
        response: { 200: importReport, 413: commonErrors[400], ...commonErrors },
      },
    },
    async (request, reply) => {
      const electionId = request.params.electionId;
      const declared = Number(request.headers["content-length"] ?? Number.NaN);
      if (declared > maxBytes) throw tooLarge(maxBytes);
      let input: AsyncIterable<Buffer>;
      if (request.isMultipart()) {
        const file = await request.file();
        if (!file) throw new AppError("VALIDATION_FAILED", "the multipart request carries no file");
        input = guardTruncation(file.file, maxBytes);
      } else if (
        request.body !== null &&
        typeof request.body === "object" &&
        Symbol.asyncIterator in request.body
      ) {
        input = request.body as AsyncIterable<Buffer>;
      } else {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          "send the roll as CSV (Content-Type: text/csv) or as a multipart upload with a field named 'file'",
        );
      }
      const report: ImportReport = await importRoll(
        db,
        pool,
        actorIn(requirePrincipal(request), electionId),
        electionId,
        input,
        {
          ...request.query,
          dryRun: request.query.dry_run,
          maxBytes,
          onProgress: (p) => request.log.info({ rows: p.rows, bytes: p.bytes }, "roll import progress"),
        },
      );
      request.log.info(
        { applied: report.applied, ...report.counts },
        report.applied ? "roll imported" : "roll import not applied",
      );
      if (!report.applied && !report.dry_run) {
        throw new AppError(
          "ROLL_REJECTED",
          `${report.counts.rejected} row${report.counts.rejected === 1 ? "" : "s"} rejected: the roll is unchanged ` +
            "(fix the rows, or import with mode=partial to apply the valid ones)",
          { report },
        );
      }
      return reply.send(report);
    },
  );

  app.get(
    "/elections/:electionId/roll",
    {
      config: { access: roles("committee") },
      schema: {
        tags: ["roll"],
        summary: "The roll for the committee, NIKs masked, by name; filter by TPS or part of a name",
        params: electionParams,
        querystring: rollQuery,
        response: {
          200: z.object({ items: z.array(rollItem), next_cursor: z.string().nullable() }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      return listRoll(db, request.params.electionId, request.query);
    },
  );

  app.get(
    "/elections/:electionId/roll/summary",
    {
      config: { access: roles("admin", "committee", "witness", "officer") },
      schema: {
        tags: ["roll"],
        summary: "Registered voters per TPS (counts only)",
        params: electionParams,
        response: {
          200: z.object({
            tps: z.array(z.object({ tps_id: z.uuid(), code: z.string(), name: z.string(), ...counts })),
            total: z.object(counts),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      return rollSummary(db, request.params.electionId);
    },
  );
};

/** @fastify/multipart truncates a file over the limit silently; turn that into the same 413 as a body. */
async function* guardTruncation(
  file: AsyncIterable<Buffer> & { truncated?: boolean },
  maxBytes: number,
): AsyncIterable<Buffer> {
  for await (const chunk of file) yield chunk;
  if (file.truncated) throw tooLarge(maxBytes);
}
