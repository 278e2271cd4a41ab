// HTTP routes of elections, their candidates, TPS and memberships, and the lifecycle transitions.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { commonErrors, pageQuery } from "../../lib/schemas.js";
import { AUTHENTICATED, roles } from "../../plugins/access.js";
import { actorIn, requirePrincipal } from "../../plugins/auth.js";
import type { LogKeyring } from "../log/log.keys.js";
import {
  cancelBody,
  candidateBody,
  candidateParams,
  candidatePatch,
  candidateView,
  createElectionBody,
  electionParams,
  electionView as electionViewSchema,
  memberBody,
  memberParams,
  memberView,
  tpsBody,
  tpsParams,
  tpsPatch,
  tpsView,
  updateElectionBody,
} from "./elections.schemas.js";
import {
  addCandidate,
  addMember,
  addTps,
  cancelElection,
  closeElection,
  createElection,
  electionView,
  getElection,
  listCandidates,
  listElections,
  listMembers,
  listTps,
  openElection,
  removeCandidate,
  removeMember,
  removeTps,
  updateCandidate,
  updateElection,
  updateTps,
} from "./elections.service.js";

const MEMBERS = roles("admin", "committee", "witness", "officer");
const SETUP = roles("admin", "committee");
const COMMITTEE = roles("committee");

export const electionRoutes: FastifyPluginAsyncZod<{ db: Db; keyring: () => Promise<LogKeyring> }> = async (
  app,
  { db, keyring },
) => {
  const actor = (request: Parameters<typeof requirePrincipal>[0], electionId?: string) =>
    actorIn(requirePrincipal(request), electionId);
  const one = { 200: electionViewSchema, ...commonErrors };

  app.post(
    "/elections",
    {
      config: { access: roles("admin") },
      schema: {
        tags: ["elections"],
        summary: "Create an election in draft",
        body: createElectionBody,
        response: { 201: electionViewSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const election = await createElection(db, { id: principal.userId, role: "admin" }, request.body);
      return reply.code(201).send(electionView(election));
    },
  );

  app.get(
    "/elections",
    {
      config: { access: AUTHENTICATED },
      schema: {
        tags: ["elections"],
        summary: "Elections you may see (all of them for an administrator), newest first",
        querystring: pageQuery,
        response: {
          200: z.object({ items: z.array(electionViewSchema), next_cursor: z.string().nullable() }),
        },
      },
    },
    async (request) => listElections(db, requirePrincipal(request), request.query),
  );

  app.get(
    "/elections/:electionId",
    { config: { access: MEMBERS }, schema: { tags: ["elections"], params: electionParams, response: one } },
    async (request) => electionView(await getElection(db, request.params.electionId)),
  );

  app.patch(
    "/elections/:electionId",
    {
      config: { access: SETUP },
      schema: {
        tags: ["elections"],
        summary: "Edit a draft election",
        params: electionParams,
        body: updateElectionBody,
        response: one,
      },
    },
    async (request) => {
      const id = request.params.electionId;
      return electionView(await updateElection(db, actor(request, id), id, request.body));
    },
  );

  app.post(
    "/elections/:electionId/open",
    {
      config: { access: COMMITTEE },
      schema: {
        tags: ["lifecycle"],
        summary: "Open the polls; refused with a specific code for the first unmet precondition",
        params: electionParams,
        response: one,
      },
    },
    async (request) => {
      const id = request.params.electionId;
      return electionView(await openElection(db, actor(request, id), id));
    },
  );

  app.post(
    "/elections/:electionId/close",
    {
      config: { access: COMMITTEE },
      schema: { tags: ["lifecycle"], summary: "Close the polls", params: electionParams, response: one },
    },
    async (request) => {
      const id = request.params.electionId;
      return electionView(await closeElection(db, actor(request, id), id, await keyring()));
    },
  );

  app.post(
    "/elections/:electionId/cancel",
    {
      config: { access: SETUP },
      schema: {
        tags: ["lifecycle"],
        summary: "Cancel a draft or open election, with a reason",
        params: electionParams,
        body: cancelBody,
        response: one,
      },
    },
    async (request) => {
      const id = request.params.electionId;
      return electionView(await cancelElection(db, actor(request, id), id, request.body.reason));
    },
  );

  // Candidates --------------------------------------------------------------------------------------------
  app.get(
    "/elections/:electionId/candidates",
    {
      config: { access: MEMBERS },
      schema: {
        tags: ["candidates"],
        params: electionParams,
        response: { 200: z.object({ items: z.array(candidateView) }), ...commonErrors },
      },
    },
    async (request) => ({ items: await listCandidates(db, request.params.electionId) }),
  );

  app.post(
    "/elections/:electionId/candidates",
    {
      config: { access: SETUP },
      schema: {
        tags: ["candidates"],
        params: electionParams,
        body: candidateBody,
        response: { 201: candidateView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const id = request.params.electionId;
      return reply.code(201).send(await addCandidate(db, actor(request, id), id, request.body));
    },
  );

  app.patch(
    "/elections/:electionId/candidates/:candidateId",
    {
      config: { access: SETUP },
      schema: {
        tags: ["candidates"],
        params: candidateParams,
        body: candidatePatch,
        response: { 200: candidateView, ...commonErrors },
      },
    },
    async (request) => {
      const { electionId, candidateId } = request.params;
      return updateCandidate(db, actor(request, electionId), electionId, candidateId, request.body);
    },
  );

  app.delete(
    "/elections/:electionId/candidates/:candidateId",
    {
      config: { access: SETUP },
      schema: { tags: ["candidates"], params: candidateParams, response: { 204: z.null(), ...commonErrors } },
    },
    async (request, reply) => {
      const { electionId, candidateId } = request.params;
      await removeCandidate(db, actor(request, electionId), electionId, candidateId);
      return reply.code(204).send(null);
    },
  );

  // TPS ---------------------------------------------------------------------------------------------------
  app.get(
    "/elections/:electionId/tps",
    {
      config: { access: MEMBERS },
      schema: {
        tags: ["tps"],
        params: electionParams,
        response: { 200: z.object({ items: z.array(tpsView) }), ...commonErrors },
      },
    },
    async (request) => ({ items: await listTps(db, request.params.electionId) }),
  );

  app.post(
    "/elections/:electionId/tps",
    {
      config: { access: SETUP },
      schema: {
        tags: ["tps"],
        params: electionParams,
        body: tpsBody,
        response: { 201: tpsView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const id = request.params.electionId;
      return reply.code(201).send(await addTps(db, actor(request, id), id, request.body));
    },
  );

  app.patch(
    "/elections/:electionId/tps/:tpsId",
    {
      config: { access: SETUP },
      schema: {
        tags: ["tps"],
        params: tpsParams,
        body: tpsPatch,
        response: { 200: tpsView, ...commonErrors },
      },
    },
    async (request) => {
      const { electionId, tpsId } = request.params;
      return updateTps(db, actor(request, electionId), electionId, tpsId, request.body);
    },
  );

  app.delete(
    "/elections/:electionId/tps/:tpsId",
    {
      config: { access: SETUP },
      schema: { tags: ["tps"], params: tpsParams, response: { 204: z.null(), ...commonErrors } },
    },
    async (request, reply) => {
      const { electionId, tpsId } = request.params;
      await removeTps(db, actor(request, electionId), electionId, tpsId);
      return reply.code(204).send(null);
    },
  );

  // Memberships -------------------------------------------------------------------------------------------
  app.get(
    "/elections/:electionId/members",
    {
      config: { access: SETUP },
      schema: {
        tags: ["members"],
        summary: "Who holds which role in this election",
        params: electionParams,
        response: { 200: z.object({ items: z.array(memberView) }), ...commonErrors },
      },
    },
    async (request) => ({ items: await listMembers(db, request.params.electionId) }),
  );

  app.post(
    "/elections/:electionId/members",
    {
      config: { access: SETUP },
      schema: {
        tags: ["members"],
        summary: "Give a user a role in this election (committee members may add officers and witnesses)",
        params: electionParams,
        body: memberBody,
        response: { 201: memberView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const id = request.params.electionId;
      return reply.code(201).send(await addMember(db, actor(request, id), id, request.body));
    },
  );

  app.delete(
    "/elections/:electionId/members/:userId",
    {
      config: { access: SETUP },
      schema: {
        tags: ["members"],
        summary: "Take a user's role in this election away; effective on their next request",
        params: memberParams,
        response: { 204: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { electionId, userId } = request.params;
      await removeMember(db, actor(request, electionId), electionId, userId);
      return reply.code(204).send(null);
    },
  );
};
