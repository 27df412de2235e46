// Writes the dashboards from dashboards.ts into the chart (charts/auth-cluster/files/dashboards), their one copy:
// the chart can only read files inside itself, and dashboards/*.json are links to them.   npm run dashboards
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildDashboards, render } from "./dashboards.js";

const dir = path.dirname(fileURLToPath(import.meta.url));
const chartFiles = path.join(dir, "../charts/auth-cluster/files/dashboards");
for (const [file, dashboard] of Object.entries(buildDashboards())) {
  writeFileSync(path.join(chartFiles, file), render(dashboard));
  console.log(`wrote charts/auth-cluster/files/dashboards/${file} (dashboards/${file} links to it)`);
}
