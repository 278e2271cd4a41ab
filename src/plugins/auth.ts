// Authentication and the one guard that decides every route (SPEC §1, §11).
// Access tokens are HS256 JWTs (algorithm pinned, iss/aud/exp required) naming the user and their token version.
// The user and their memberships are read from the database on every request, so disabling a user, removing a
// membership or changing a password takes effect on the very next request — no cache to wait out.
import fastifyJwt from "@fastify/jwt";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Db, MemberRole } from "../db/database.js";
import { AppError } from "../lib/errors.js";
import type { Actor } from "../modules/audit/audit.service.js";
import type { Access } from "./access.js";

export interface ElectionMembership {
  role: MemberRole;
  tpsId: string | null;
}

export interface Principal {
  userId: string;
  username: string;
  isAdmin: boolean;
  mustChangePassword: boolean;
  /** Memberships by election id. */
  memberships: ReadonlyMap<string, ElectionMembership>;
}

/** A user's token names the user and their token version; a kiosk's names the kiosk and its election. */
interface AccessTokenClaims {
  sub: string;
  tv?: number;
  typ?: "kiosk";
  eid?: string;
}

export interface KioskPrincipal {
  kioskId: string;
  electionId: string;
  tpsId: string;
  keyId: Buffer;
  publicKey: Buffer;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    kiosk: KioskPrincipal | null;
  }
}

declare module "@fastify/jwt" {
  interface FastifyJWT {
    payload: AccessTokenClaims;
    user: AccessTokenClaims;
  }
}

export interface AuthOptions {
  db: Db;
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** The capacity in which a principal acts on an election, for audit events. */
export function actorIn(principal: Principal, electionId?: string): Actor {
  if (principal.isAdmin) return { id: principal.userId, role: "admin" };
  const membership = electionId === undefined ? undefined : principal.memberships.get(electionId);
  return { id: principal.userId, role: membership?.role ?? "user" };
}

export function requireKiosk(request: FastifyRequest): KioskPrincipal {
  if (!request.kiosk) throw new AppError("UNAUTHENTICATED", "sign the kiosk in first");
  return request.kiosk;
}

async function loadKiosk(db: Db, claims: AccessTokenClaims): Promise<KioskPrincipal> {
  const kiosk = await db
    .selectFrom("kiosks")
    .select(["id", "election_id", "tps_id", "key_id", "public_key", "revoked_at"])
    .where("election_id", "=", claims.eid as string)
    .where("id", "=", claims.sub)
    .executeTakeFirst();
  if (!kiosk) throw new AppError("UNAUTHENTICATED", "kiosk session invalid");
  // Read on every request, so a revocation refuses the kiosk at once, even with a live session (SPEC §4).
  if (kiosk.revoked_at !== null)
    throw new AppError("KIOSK_REVOKED", "this kiosk has been revoked by the committee");
  return {
    kioskId: kiosk.id,
    electionId: kiosk.election_id,
    tpsId: kiosk.tps_id,
    keyId: kiosk.key_id,
    publicKey: kiosk.public_key,
  };
}

export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError("UNAUTHENTICATED", "sign in first");
  return request.principal;
}

async function loadPrincipal(db: Db, claims: AccessTokenClaims): Promise<Principal | null> {
  if (claims.tv === undefined) return null;
  const user = await db
    .selectFrom("users")
    .select(["id", "username", "is_admin", "must_change_password", "token_version", "disabled_at"])
    .where("id", "=", claims.sub)
    .executeTakeFirst();
  if (!user || user.disabled_at !== null || user.token_version !== claims.tv) return null;
  const rows = await db
    .selectFrom("memberships")
    .innerJoin("elections", "elections.id", "memberships.election_id")
    .select(["memberships.election_id", "memberships.role", "memberships.tps_id"])
    .where("memberships.user_id", "=", user.id)
    .execute();
  return {
    userId: user.id,
    username: user.username,
    isAdmin: user.is_admin,
    mustChangePassword: user.must_change_password,
    memberships: new Map(rows.map((r) => [r.election_id, { role: r.role, tpsId: r.tps_id }])),
  };
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The decision itself, kept pure so that it reads as the rule it is. */
export function isAllowed(
  access: Access,
  principal: Principal,
  params: Record<string, string | undefined>,
): boolean {
  if (access.kind !== "roles") return true;
  if (principal.isAdmin && access.roles.includes("admin")) return true;
  const electionId = params.electionId;
  if (electionId === undefined || !UUID_PATTERN.test(electionId)) return false;
  const membership = principal.memberships.get(electionId.toLowerCase());
  if (!membership || !access.roles.includes(membership.role)) return false;
  if (membership.role === "officer" && params.tpsId !== undefined) {
    return membership.tpsId === params.tpsId.toLowerCase();
  }
  return true;
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  await app.register(fastifyJwt, {
    secret: options.secret,
    sign: {
      algorithm: "HS256",
      iss: options.issuer,
      aud: options.audience,
      expiresIn: `${options.ttlSeconds}s`,
    },
    verify: {
      algorithms: ["HS256"],
      allowedIss: options.issuer,
      allowedAud: options.audience,
      requiredClaims: ["exp", "iss", "aud", "sub"],
    },
  });
  app.decorateRequest("principal", null);
  app.decorateRequest("kiosk", null);

  app.addHook("onRequest", async (request: FastifyRequest, _reply: FastifyReply) => {
    const access = request.routeOptions.config.access;
    const header = request.headers.authorization;
    if (access === undefined || (access.kind === "public" && header === undefined)) return;
    if (header === undefined) throw new AppError("UNAUTHENTICATED", "this route needs an access token");
    let claims: AccessTokenClaims;
    try {
      claims = await request.jwtVerify<AccessTokenClaims>();
    } catch (error) {
      const expired = (error as { code?: string }).code === "FST_JWT_AUTHORIZATION_TOKEN_EXPIRED";
      throw new AppError(
        "UNAUTHENTICATED",
        expired ? "access token expired: sign in again" : "access token invalid",
      );
    }
    if (typeof claims.sub !== "string" || !UUID_PATTERN.test(claims.sub)) {
      throw new AppError("UNAUTHENTICATED", "access token invalid");
    }
    if (claims.typ === "kiosk") {
      if (typeof claims.eid !== "string" || !UUID_PATTERN.test(claims.eid)) {
        throw new AppError("UNAUTHENTICATED", "access token invalid");
      }
      const kiosk = await loadKiosk(options.db, claims);
      request.kiosk = kiosk;
      if (access.kind === "public") return;
      const electionId = (request.params as Record<string, string | undefined>).electionId?.toLowerCase();
      if (access.kind !== "kiosk" || electionId !== kiosk.electionId) {
        throw new AppError("FORBIDDEN", "a kiosk may only cast in its own election");
      }
      return;
    }
    if (!Number.isInteger(claims.tv)) throw new AppError("UNAUTHENTICATED", "access token invalid");
    const principal = await loadPrincipal(options.db, claims);
    if (!principal) throw new AppError("UNAUTHENTICATED", "account disabled or signed out: sign in again");
    request.principal = principal;
    if (access.kind === "public") return;
    if (access.kind === "kiosk") throw new AppError("FORBIDDEN", "only a signed-in kiosk may do this");
    if (principal.mustChangePassword && !(access.kind === "authenticated" && access.beforePasswordChange)) {
      throw new AppError(
        "PASSWORD_CHANGE_REQUIRED",
        "change your one-time password first (POST /auth/password)",
      );
    }
    if (!isAllowed(access, principal, request.params as Record<string, string | undefined>)) {
      throw new AppError("FORBIDDEN", "your role does not allow this here");
    }
  });
}

export default fp(authPlugin, { name: "suara-auth" });

export function signAccessToken(app: FastifyInstance, user: { id: string; token_version: number }): string {
  return app.jwt.sign({ sub: user.id, tv: user.token_version });
}

export function signKioskToken(
  app: FastifyInstance,
  kiosk: { id: string; electionId: string },
  ttlSeconds: number,
): string {
  return app.jwt.sign(
    { sub: kiosk.id, typ: "kiosk", eid: kiosk.electionId },
    { expiresIn: `${ttlSeconds}s` },
  );
}
