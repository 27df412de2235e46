// Writes dashboards/*.json from dashboards.ts, and the chart's copies.   npm run dashboards
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildDashboards, render } from "./dashboards.js";

// The Helm chart can only read files inside itself, so it gets copies; a test checks they are identical.
const dir = path.dirname(fileURLToPath(import.meta.url));
const chartFiles = path.join(dir, "../charts/auth-cluster/files");
for (const [file, dashboard] of Object.entries(buildDashboards())) {
  writeFileSync(path.join(dir, file), render(dashboard));
  writeFileSync(path.join(chartFiles, "dashboards", file), render(dashboard));
  console.log(`wrote dashboards/${file} and charts/auth-cluster/files/dashboards/${file}`);
}
copyFileSync(path.join(dir, "alerts.yaml"), path.join(chartFiles, "alerts.yaml"));
console.log("copied dashboards/alerts.yaml to charts/auth-cluster/files/alerts.yaml");
