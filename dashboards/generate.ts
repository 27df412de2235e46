// Writes dashboards/*.json from dashboards.ts.   npm run dashboards
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildDashboards, render } from "./dashboards.js";

const dir = path.dirname(fileURLToPath(import.meta.url));
for (const [file, dashboard] of Object.entries(buildDashboards())) {
  writeFileSync(path.join(dir, file), render(dashboard));
  console.log(`wrote dashboards/${file}`);
}
