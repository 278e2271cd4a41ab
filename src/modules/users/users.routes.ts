// Sign-in, the signed-in user's own account, and account administration.
import rateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { commonErrors, pageQuery } from "../../lib/schemas.js";
import { roles } from "../../plugins/access.js";
import { actorIn, requirePrincipal, signAccessToken } from "../../plugins/auth.js";
import {
  changePasswordBody,
  createdUserView,
  createUserBody,
  loginBody,
  meView,
  tokenResponse,
  updateUserBody,
  userIdParams,
  userView as userViewSchema,
} from "./users.schemas.js";
import {
  authenticate,
  changePassword,
  createUser,
  getUser,
  listUsers,
  resetPassword,
  updateUser,
  userView,
} from "./users.service.js";

export interface UsersRoutesOptions {
  db: Db;
  config: Config;
}

export const authRoutes: FastifyPluginAsyncZod<UsersRoutesOptions> = async (app, { db, config }) => {
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new AppError("RATE_LIMITED", "too many sign-in attempts from this address: wait and try again", {
        retry_after_seconds: Math.ceil(context.ttl / 1000),
      }),
  });
  const policy = { maxFailures: config.LOGIN_MAX_FAILURES, lockSeconds: config.LOGIN_LOCK_SECONDS };
  const tokenFor = (user: { id: string; token_version: number; must_change_password: boolean }) => ({
    access_token: signAccessToken(app, user),
    token_type: "Bearer" as const,
    expires_in: config.ACCESS_TOKEN_TTL_SECONDS,
    must_change_password: user.must_change_password,
  });

  app.post(
    "/auth/login",
    {
      config: {
        access: { kind: "public" },
        rateLimit: { max: config.LOGIN_RATE_PER_MINUTE, timeWindow: 60_000 },
      },
      schema: {
        tags: ["auth"],
        summary: "Sign in with username and password; returns a short-lived access token",
        body: loginBody,
        response: { 200: tokenResponse, ...commonErrors },
      },
    },
    async (request) => {
      const user = await authenticate(db, policy, request.body.username, request.body.password);
      return tokenFor(user);
    },
  );

  app.get(
    "/auth/me",
    {
      config: { access: { kind: "authenticated", beforePasswordChange: true } },
      schema: {
        tags: ["auth"],
        summary: "The signed-in user and their memberships",
        response: { 200: meView },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const user = await getUser(db, principal.userId);
      return {
        ...userView(user),
        memberships: [...principal.memberships].map(([electionId, m]) => ({
          election_id: electionId,
          role: m.role,
          tps_id: m.tpsId,
        })),
      };
    },
  );

  app.post(
    "/auth/password",
    {
      config: { access: { kind: "authenticated", beforePasswordChange: true } },
      schema: {
        tags: ["auth"],
        summary: "Change your own password (required after a one-time password); returns a fresh token",
        body: changePasswordBody,
        response: { 200: tokenResponse, ...commonErrors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const user = await changePassword(
        db,
        principal.userId,
        request.body.current_password,
        request.body.new_password,
      );
      return tokenFor(user);
    },
  );
};

export const userRoutes: FastifyPluginAsyncZod<UsersRoutesOptions> = async (app, { db }) => {
  const adminOnly = { access: roles("admin") };

  app.post(
    "/users",
    {
      config: adminOnly,
      schema: {
        tags: ["users"],
        summary: "Create a user account; its one-time password is returned once",
        body: createUserBody,
        response: { 201: createdUserView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { user, oneTimePassword } = await createUser(
        db,
        actorIn(requirePrincipal(request)),
        request.body,
      );
      return reply.code(201).send({ user: userView(user), one_time_password: oneTimePassword });
    },
  );

  app.get(
    "/users",
    {
      config: adminOnly,
      schema: {
        tags: ["users"],
        summary: "List user accounts by username",
        querystring: pageQuery,
        response: { 200: z.object({ items: z.array(userViewSchema), next_cursor: z.string().nullable() }) },
      },
    },
    async (request) => listUsers(db, request.query),
  );

  app.get(
    "/users/:userId",
    {
      config: adminOnly,
      schema: { tags: ["users"], params: userIdParams, response: { 200: userViewSchema, ...commonErrors } },
    },
    async (request) => userView(await getUser(db, request.params.userId)),
  );

  app.patch(
    "/users/:userId",
    {
      config: adminOnly,
      schema: {
        tags: ["users"],
        summary: "Rename, disable or re-enable an account; disabling takes effect on its next request",
        params: userIdParams,
        body: updateUserBody,
        response: { 200: userViewSchema, ...commonErrors },
      },
    },
    async (request) =>
      userView(await updateUser(db, actorIn(requirePrincipal(request)), request.params.userId, request.body)),
  );

  app.post(
    "/users/:userId/password-reset",
    {
      config: adminOnly,
      schema: {
        tags: ["users"],
        summary: "Replace the password with a one-time password (returned once) and sign the user out",
        params: userIdParams,
        response: { 200: createdUserView, ...commonErrors },
      },
    },
    async (request) => {
      const { user, oneTimePassword } = await resetPassword(
        db,
        actorIn(requirePrincipal(request)),
        request.params.userId,
      );
      return { user: userView(user), one_time_password: oneTimePassword };
    },
  );
};
