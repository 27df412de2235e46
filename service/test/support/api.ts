// Small helpers over the HTTP API for tests.
import request from "supertest";
import type { Express } from "express";

export const PASSWORD = "correct horse battery";

export async function register(app: Express, username: string, password = PASSWORD, token?: string) {
  const req = request(app).post("/v1/users");
  if (token) req.set("authorization", `Bearer ${token}`);
  return req.send({ username, password });
}

export async function login(app: Express, username: string, password = PASSWORD, headers: Record<string, string> = {}) {
  return request(app).post("/v1/sessions").set(headers).send({ username, password });
}

/** Registers (open registration) and logs in; returns the token and user id. */
export async function userWithSession(app: Express, username: string) {
  const reg = await register(app, username);
  if (reg.status !== 201) throw new Error(`register ${reg.status} ${reg.text}`);
  const res = await login(app, username);
  if (res.status !== 201) throw new Error(`login ${res.status} ${res.text}`);
  return { token: res.body.token as string, userId: reg.body.id as string, sessionId: res.body.session.id as string };
}

export function validate(app: Express, token: string) {
  return request(app).get("/v1/session").set("authorization", `Bearer ${token}`);
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}
