import { z } from "zod";

export const username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, "2–63 characters: letters, digits, '.', '_' or '-'");

export const password = z.string().min(1).max(200);

export const loginBody = z.strictObject({ username, password });

export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().describe("seconds"),
  must_change_password: z.boolean(),
});

export const changePasswordBody = z.strictObject({
  current_password: password,
  new_password: password,
});

export const userView = z.object({
  id: z.uuid(),
  username: z.string(),
  display_name: z.string(),
  is_admin: z.boolean(),
  disabled: z.boolean(),
  must_change_password: z.boolean(),
  created_at: z.string(),
});

export const meView = userView.extend({
  memberships: z.array(
    z.object({
      election_id: z.uuid(),
      role: z.enum(["committee", "witness", "officer"]),
      tps_id: z.uuid().nullable(),
    }),
  ),
});

export const createUserBody = z.strictObject({
  username,
  display_name: z.string().trim().min(1).max(200),
  is_admin: z.boolean().default(false),
});

export const createdUserView = z.object({
  user: userView,
  one_time_password: z.string().describe("shown once; the user must change it at first sign-in"),
});

export const updateUserBody = z
  .strictObject({
    display_name: z.string().trim().min(1).max(200).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "nothing to change");

export const userIdParams = z.strictObject({ userId: z.uuid() });
