// Request bodies are parsed with zod; a wrong shape or type is a 400 invalid_request, never a 500.
import type { Request } from "express";
import type { z } from "zod";
import { HttpError } from "./errors.js";

export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parse(schema, req.body ?? {}, "invalid request body");
}

/** The query string, the same way: `?limit=abc` is a 400, never a 500. */
export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parse(schema, req.query, "invalid query");
}

function parse<S extends z.ZodType>(schema: S, input: unknown, fallback: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new HttpError("invalid_request", `${where}${issue?.message ?? fallback}`);
  }
  return result.data;
}
