// buildApp(config, overrides): the whole HTTP application as one Fastify instance, used by the server, the
// tests and the OpenAPI script alike. It owns no process concerns (ports, signals, the database's lifetime).
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type pg from "pg";
import type { Config } from "./config.js";
import { newId, randomSecret } from "./crypto/random.js";
import type { Db } from "./db/database.js";
import { auditRoutes } from "./modules/audit/audit.routes.js";
import { ballotRoutes } from "./modules/ballots/ballots.routes.js";
import { resultRoutes } from "./modules/ballots/results.routes.js";
import { ceremonyRoutes } from "./modules/ceremony/ceremony.routes.js";
import { electionRoutes } from "./modules/elections/elections.routes.js";
import { healthRoutes } from "./modules/health/health.routes.js";
import { kioskRoutes } from "./modules/kiosks/kiosks.routes.js";
import { type LogKeyring, loadLogKeyring } from "./modules/log/log.keys.js";
import { logRoutes } from "./modules/log/log.routes.js";
import { pollingRoutes } from "./modules/polling/polling.routes.js";
import { loadTokenKey } from "./modules/polling/polling.service.js";
import { recordRoutes } from "./modules/record/record.routes.js";
import { rollRoutes } from "./modules/roll/roll.routes.js";
import { tallyRoutes } from "./modules/tally/tally.routes.js";
import { TallySessions } from "./modules/tally/tally.service.js";
import { authRoutes, userRoutes } from "./modules/users/users.routes.js";
import { type Access, PUBLIC } from "./plugins/access.js";
import authPlugin from "./plugins/auth.js";
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from "./plugins/errors.js";
import inputPlugin from "./plugins/input.js";
import { loggerOptions } from "./plugins/logging.js";

export interface AppOverrides {
  db: Db;
  /** The pool under `db`: the roll importer and the tally stream COPY through its clients. */
  pool: pg.Pool;
  /** The vote-log signing keys; loaded from the database (made at first start) on first use when absent. */
  logKeyring?: LogKeyring;
  /** Where logs go (tests capture them); defaults to stdout. */
  logStream?: NodeJS.WritableStream;
  /** pino logger options, replacing the defaults (pretty console output on a TTY, for instance). */
  logger?: FastifyServerOptions["logger"];
  /** The tally sessions (shares, progress, prepared crypto threads); a fresh set when absent. Tests watch them. */
  tallySessions?: TallySessions;
}

export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every route with its access rule, for the security suite and the docs. */
    routeAccess: RouteAccess[];
  }
}

export async function buildApp(config: Config, overrides: AppOverrides): Promise<FastifyInstance> {
  const { db } = overrides;
  const app = Fastify({
    logger: overrides.logger ?? loggerOptions(config, overrides.logStream),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    genReqId: () => newId(),
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  await app.register(inputPlugin);

  // No route without an access rule: the guard is only as good as its coverage.
  app.decorate("routeAccess", [] as RouteAccess[]);
  app.addHook("onRoute", (route) => {
    route.config ??= {};
    const config = route.config as { access?: Access };
    // Routes added by plugins: the API documentation, and CORS preflight (which carries no credentials).
    if (config.access === undefined && (route.url.startsWith("/docs") || route.method === "OPTIONS")) {
      config.access = PUBLIC;
    }
    if (config.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} declares no access rule (config.access)`);
    }
    for (const method of [route.method].flat()) {
      if (method !== "HEAD") app.routeAccess.push({ method, url: route.url, access: config.access });
    }
  });
  app.addHook("onSend", async (request, reply) => {
    void reply.header("x-request-id", request.id);
  });

  await app.register(helmet, { global: true, contentSecurityPolicy: false });
  await app.register(cors, {
    origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false,
    credentials: false,
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Suara",
        version: "0.1.0",
        description:
          "Backend for village-head elections (pilkades) on electronic voting kiosks. Errors are " +
          '`{"error":{"code","message","details"}}` with stable codes.',
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });

  let jwtSecret = config.JWT_SECRET;
  if (jwtSecret === undefined) {
    jwtSecret = randomSecret();
    app.log.warn("JWT_SECRET is unset: using a random key, so a restart signs everybody out");
  }
  await app.register(authPlugin, {
    db,
    secret: jwtSecret,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  });

  await app.register(healthRoutes, { db });
  await app.register(authRoutes, { db, config });
  await app.register(userRoutes, { db, config });

  await app.register(auditRoutes, { db });
  await app.register(ceremonyRoutes, { db });
  await app.register(kioskRoutes, { db, config });
  await app.register(rollRoutes, { db, pool: overrides.pool, config });
  let keyring: Promise<LogKeyring> | undefined = overrides.logKeyring
    ? Promise.resolve(overrides.logKeyring)
    : undefined;
  const getKeyring = () => {
    // A failed load (database down) is not remembered: the next request tries again.
    keyring ??= loadLogKeyring(db, config.LOG_ORIGIN, config.LOG_SIGNING_KEY).catch((error: unknown) => {
      keyring = undefined;
      throw error;
    });
    return keyring;
  };
  let tokenKey: Promise<Buffer> | undefined;
  const getTokenKey = () => {
    tokenKey ??= loadTokenKey(db, config.TOKEN_HMAC_SECRET).catch((error: unknown) => {
      tokenKey = undefined;
      throw error;
    });
    return tokenKey;
  };
  await app.register(electionRoutes, { db, keyring: getKeyring });
  await app.register(logRoutes, { db, keyring: getKeyring });
  await app.register(pollingRoutes, { db, config, tokenKey: getTokenKey });
  await app.register(ballotRoutes, { db, keyring: getKeyring, tokenKey: getTokenKey });
  await app.register(resultRoutes, { db });
  const tallySessions = overrides.tallySessions ?? new TallySessions({ logger: app.log });
  app.addHook("onClose", () => tallySessions.close());
  await app.register(tallyRoutes, {
    db,
    pool: overrides.pool,
    keyring: getKeyring,
    sessions: tallySessions,
  });
  await app.register(recordRoutes, { db, keyring: getKeyring });

  await app.ready();
  return app;
}
