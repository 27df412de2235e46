// Checks an HTTP response against the API description (docs/openapi.json, as http/openapi.ts builds it): a
// documented status for that operation, the documented content type and body (every field named, every error
// code listed for that status), and the required headers. contract-setup.ts runs it on every response a
// supertest request receives, so a handler that answers an undocumented status, code or field fails its test.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { buildOpenApi } from "../../src/http/openapi.js";
import { loadConfig } from "../../src/config.js";

type Json = Record<string, any>;

const config = loadConfig({ REDIS_SENTINELS: "127.0.0.1:26379", DATABASE_URL: "postgresql://auth@127.0.0.1:6432/auth" }, () => "max 100000");
const doc = buildOpenApi(config) as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const compiled = new Map<object, ValidateFunction>();
const validator = (schema: object) => {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(schema)));
  return v;
};

const templates = Object.keys(doc.paths as Json).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

export interface ObservedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
  text: string;
}

const header = (r: ObservedResponse, name: string) => r.headers[name.toLowerCase()];

/** What is wrong with this response for this request (nothing: an empty list). */
export function contractProblems(method: string, url: string, r: ObservedResponse): string[] {
  const path = new URL(url, "http://x").pathname;
  const where = `${method} ${path} → ${r.status}`;
  const problems: string[] = [];
  if (!header(r, "x-request-id")) problems.push(`${where}: no X-Request-Id`);
  const found = templates.find((t) => t.pattern.test(path));
  if (!found) {
    // Not an API path: the demo page's files, or nothing (404 not_found).
    if (r.status === 404 && (r.body as Json)?.error !== "not_found") problems.push(`${where}: a 404 for an unknown path is not_found`);
    return problems;
  }
  const operation = (doc.paths as Json)[found.template][method.toLowerCase()] as Json | undefined;
  if (!operation) {
    if (method === "HEAD" && (doc.paths as Json)[found.template].get) return problems;
    if (r.status !== 405 && !(method === "OPTIONS" && r.status === 204)) problems.push(`${where}: ${method} is not documented here, so 405 was due`);
    if (!header(r, "allow")) problems.push(`${where}: no Allow header`);
    return problems;
  }
  const response = operation.responses[String(r.status)] as Json | undefined;
  if (!response) return [...problems, `${where}: undocumented status (documented: ${Object.keys(operation.responses).join(", ")})`];
  for (const [name, h] of Object.entries((response.headers ?? {}) as Json)) {
    if ((h as Json).required && header(r, name) === undefined) problems.push(`${where}: no ${name} header`);
  }
  const content = response.content?.["application/json"] as Json | undefined;
  if (!content) {
    if (r.text.length > 0) problems.push(`${where}: a body where none is documented`);
    return problems;
  }
  const type = String(header(r, "content-type") ?? "");
  if (!type.startsWith("application/json")) problems.push(`${where}: content type ${type || "(none)"}, documented application/json`);
  const validate = validator(content.schema as object);
  if (!validate(r.body)) problems.push(`${where}: body ${JSON.stringify(r.body)?.slice(0, 300)} ${ajv.errorsText(validate.errors)}`);
  return problems;
}

/** The API description the checks use (the default settings' one, as docs/openapi.json holds it). */
export const apiDescription = doc;
