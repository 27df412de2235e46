// The Node.js a benchmark runs on. `npm run bench:*` uses the node first on PATH, which is the pinned release
// (the Dockerfile's NODE_IMAGE) only inside scripts/; on another one the numbers are not comparable (Node 20 served
// a third of Node 24's validations per CPU second here), so the table says which it was.
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../test/support/env.js";

export function runtimeNote(): string {
  const pinned = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(readFileSync(path.join(ROOT, "Dockerfile"), "utf8"))?.[1];
  if (pinned && process.version !== `v${pinned}`) {
    const warning = `Node ${process.version}, NOT the pinned v${pinned} (put ~/.cache/auth-cluster/node-${pinned}/bin first on PATH)`;
    console.error(`warning: running on ${warning}`);
    return warning;
  }
  return `Node ${process.version}`;
}
