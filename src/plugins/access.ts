// Who may call a route. Every route declares its rule in `config.access`; the guard in auth.ts enforces it and
// app.ts refuses to start if a route has none, so no route can be added without deciding who may use it.
import type { MemberRole } from "../db/database.js";

export type RoleName = "admin" | MemberRole;

export type Access =
  /** Anyone, without credentials (bulletin board, health). */
  | { kind: "public" }
  /** Any signed-in user; `beforePasswordChange` lets a user whose password must change reach the route. */
  | { kind: "authenticated"; beforePasswordChange?: boolean }
  /**
   * Users holding one of `roles` in the election named by the route's `:electionId` parameter ("admin" is the
   * regency-wide administrator, who needs no membership). An officer is further confined to the TPS named by
   * the route's `:tpsId` parameter, when the route has one.
   */
  | { kind: "roles"; roles: readonly RoleName[] }
  /** A signed-in kiosk (SPEC §4) of the election named by the route's `:electionId`; no user may call it. */
  | { kind: "kiosk" };

export const PUBLIC: Access = { kind: "public" };
export const AUTHENTICATED: Access = { kind: "authenticated" };
export const roles = (...names: RoleName[]): Access => ({ kind: "roles", roles: names });
export const KIOSK: Access = { kind: "kiosk" };

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
  }
}
