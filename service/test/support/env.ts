// The environment of the local infrastructure that scripts/infra.sh started (.state/service.env).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const STATE = path.join(ROOT, ".state");

export function infraEnv(): Record<string, string> {
  const file = path.join(STATE, "service.env");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`${file} is missing: start the infrastructure with ./scripts/test.sh (or scripts/infra.sh start)`);
  }
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** Settings for tests: fast hashing, no replica wait unless a test asks for it. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...infraEnv(),
    LOG_LEVEL: "silent",
    BCRYPT_COST: "10",
    HASH_POOL_SIZE: "2",
    REGISTRATION: "open",
    COOKIE_SECURE: "false",
    ALLOWED_ORIGINS: "http://app.test",
    SESSION_WAIT_REPLICAS: "1",
    SESSION_WAIT_TIMEOUT_MS: "500",
    ...overrides,
  };
}
