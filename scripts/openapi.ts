// Writes docs/openapi.json: the API description as a replica with default settings serves it at
// GET /v1/openapi.json.   npm run openapi
// A test fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultDescription } from "../service/src/http/openapi.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(path.join(root, "docs/openapi.json"), defaultDescription());
console.log("wrote docs/openapi.json");
