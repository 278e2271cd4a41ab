// zod building blocks shared by the modules' schemas.
import { z } from "zod";

export const uuid = z.uuid().transform((v) => v.toLowerCase());

export const pageQuery = z.strictObject({
  cursor: z.string().max(200).optional().describe("`next_cursor` of the previous page"),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const errorBody = z.object({
  error: z.object({
    code: z.string().describe("stable machine-readable code"),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The responses every authenticated route may give, for the OpenAPI document. */
export const commonErrors = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  422: errorBody,
  429: errorBody,
} as const;

/** Canonical base64 of exactly `bytes` bytes (or `bytes`..`max`), decoded to a Buffer. */
export const base64Bytes = (what: string, bytes: number, max = bytes) =>
  z
    .string()
    .describe(`base64 of ${bytes === max ? bytes : `${bytes}..${max}`} bytes: ${what}`)
    .transform((v, ctx) => {
      const decoded = Buffer.from(v, "base64");
      if (decoded.length < bytes || decoded.length > max || decoded.toString("base64") !== v) {
        ctx.addIssue({
          code: "custom",
          message: bytes === max ? `base64 of exactly ${bytes} bytes` : `base64 of ${bytes}..${max} bytes`,
        });
        return z.NEVER;
      }
      return decoded;
    });
