// Every reference to the service's settings is generated from service/src/config.ts (npm run settings): the
// configuration table, the chart's env map, values, schema and README table. A stale one fails here.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, SETTINGS } from "../../src/config.js";
import { generatedFiles, ROOT, valueName } from "../../../scripts/settings.js";

describe("settings references", () => {
  for (const { file, content } of generatedFiles()) {
    it(`${file} is what npm run settings writes`, () => {
      expect(readFileSync(path.join(ROOT, file), "utf8"), `${file} is stale: run npm run settings`).toBe(content);
    });
  }

  it("documents every setting, and each default is one the service accepts", () => {
    const env: Record<string, string> = { REDIS_SENTINELS: "127.0.0.1:26379", DATABASE_URL: "postgresql://u:p@h:5432/d" };
    for (const [variable, s] of Object.entries(SETTINGS)) {
      expect(s.doc.length, variable).toBeGreaterThan(10);
      if (s.chartDefault !== undefined) env[variable] = s.chartDefault;
    }
    expect(() => loadConfig(env, () => "")).not.toThrow();
  });

  it("names each chart value after its variable", () => {
    expect(valueName("LOG_LEVEL")).toBe("logLevel");
    expect(valueName("WS_MAX_BUFFERED_KB")).toBe("wsMaxBufferedKb");
    expect(valueName("SESSION_IDLE_TIMEOUT_S")).toBe("sessionIdleTimeoutS");
  });
});
