// Every response carries x-request-id: the caller's when it is a sane token, else a new UUID.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && VALID.test(given) ? given : randomUUID();
}
