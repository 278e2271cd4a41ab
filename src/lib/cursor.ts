// Opaque pagination cursors: base64url of a small JSON object, so clients cannot depend on their shape.
import { AppError } from "./errors.js";

export function encodeCursor(key: string, value: string | number): string {
  return Buffer.from(JSON.stringify({ [key]: value }), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, key: string): string | number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (parsed && typeof parsed === "object" && key in parsed) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value)))
        return value;
    }
  } catch {
    // fall through to the error below
  }
  throw new AppError("VALIDATION_FAILED", "cursor is not one this service issued", { field: "cursor" });
}
