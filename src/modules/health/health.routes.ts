// Liveness and readiness (SPEC §10): /health answers while the process runs; /ready only when the database
// answers and its schema is current.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { pendingMigrations } from "../../db/migrator.js";
import { PUBLIC } from "../../plugins/access.js";

const readiness = z.object({
  status: z.enum(["ready", "not_ready"]),
  database: z.enum(["ok", "unreachable"]),
  migrations: z.enum(["current", "pending", "unknown"]),
});

export const healthRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    "/health",
    {
      config: { access: PUBLIC },
      logLevel: "warn",
      schema: { tags: ["health"], response: { 200: z.object({ status: z.literal("ok") }) } },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/ready",
    {
      config: { access: PUBLIC },
      logLevel: "warn",
      schema: { tags: ["health"], response: { 200: readiness, 503: readiness } },
    },
    async (_request, reply) => {
      try {
        await sql`SELECT 1`.execute(db);
      } catch {
        return reply.code(503).send({ status: "not_ready", database: "unreachable", migrations: "unknown" });
      }
      const pending = await pendingMigrations(db);
      const ready = pending.length === 0;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? "ready" : "not_ready",
        database: "ok",
        migrations: ready ? "current" : "pending",
      });
    },
  );
};
