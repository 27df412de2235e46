// Validates objects against Kubernetes' own OpenAPI (swagger.json of k8s.io/kubernetes at a pinned version):
// types, required fields, and unknown fields (which a strict server-side apply rejects). Hand-written because
// the offline alternatives either skip unknown fields (kubernetes-models) or fetch schemas at run time.
import { readFileSync } from "node:fs";

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string }[];
}

export class KubernetesSchema {
  private readonly defs: Record<string, Schema>;
  private readonly byKind = new Map<string, string>();

  constructor(swaggerPath: string) {
    this.defs = (JSON.parse(readFileSync(swaggerPath, "utf8")) as { definitions: Record<string, Schema> }).definitions;
    for (const [name, def] of Object.entries(this.defs)) {
      for (const gvk of def["x-kubernetes-group-version-kind"] ?? []) {
        const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
        this.byKind.set(`${apiVersion}/${gvk.kind}`, name);
      }
    }
  }

  knows(apiVersion: string, kind: string): boolean {
    return this.byKind.has(`${apiVersion}/${kind}`);
  }

  /** Problems found in obj; empty when valid. */
  validate(obj: { apiVersion?: string; kind?: string }): string[] {
    const name = this.byKind.get(`${obj.apiVersion}/${obj.kind}`);
    if (!name) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
    const errors: string[] = [];
    this.check(obj, { $ref: `#/definitions/${name}` }, "", errors);
    return errors;
  }

  private check(value: unknown, schema: Schema, at: string, errors: string[]): void {
    if (schema.$ref) {
      const def = this.defs[schema.$ref.replace("#/definitions/", "")];
      if (!def) return void errors.push(`${at}: unknown $ref ${schema.$ref}`);
      return this.check(value, def, at, errors);
    }
    if (value === null || value === undefined) return;
    if (schema.format === "int-or-string") {
      if (typeof value !== "string" && !Number.isInteger(value)) errors.push(`${at}: must be an integer or a string`);
      return;
    }
    switch (schema.type) {
      case "string":
        if (typeof value !== "string" && !(typeof value === "number" && this.isQuantityContext(at))) errors.push(`${at}: must be a string`);
        return;
      case "integer":
        if (!Number.isInteger(value)) errors.push(`${at}: must be an integer`);
        return;
      case "number":
        if (typeof value !== "number") errors.push(`${at}: must be a number`);
        return;
      case "boolean":
        if (typeof value !== "boolean") errors.push(`${at}: must be a boolean`);
        return;
      case "array":
        if (!Array.isArray(value)) return void errors.push(`${at}: must be an array`);
        value.forEach((item, i) => schema.items && this.check(item, schema.items, `${at}[${i}]`, errors));
        return;
      default:
        break;
    }
    if (typeof value !== "object" || Array.isArray(value)) {
      if (schema.type === "object" || schema.properties) errors.push(`${at}: must be an object`);
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in record)) errors.push(`${at}: ${key} is required`);
    }
    for (const [key, v] of Object.entries(record)) {
      const prop = schema.properties?.[key];
      if (prop) this.check(v, prop, `${at}.${key}`, errors);
      else if (typeof schema.additionalProperties === "object") this.check(v, schema.additionalProperties, `${at}.${key}`, errors);
      else if (schema.properties || schema.additionalProperties === false) errors.push(`${at}.${key}: unknown field`);
    }
  }

  private isQuantityContext(at: string): boolean {
    return /\.(requests|limits|capacity|hard)\.[^.]+$/.test(at);
  }
}
