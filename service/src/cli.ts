// Bootstrap tool: create a user with roles, or reset a password. Passwords are read from standard input
// (or AUTH_CLI_PASSWORD), never from arguments, which other users of the machine can see in `ps`.
//   node dist/cli.js create-user <username> [--role <role>]...
//   node dist/cli.js reset-password <username>
import { parseArgs } from "node:util";
import { text } from "node:stream/consumers";
import { register, resetPassword } from "./auth/accounts.js";
import { AuthError } from "./auth/errors.js";
import { ConfigError, loadConfig } from "./config.js";
import { createDependencies } from "./dependencies.js";
import { createLogger } from "./observability/logger.js";

const USAGE = "usage: cli create-user <username> [--role <role>]... | cli reset-password <username>  (password on stdin)";

async function readPassword(): Promise<string> {
  const fromEnv = process.env.AUTH_CLI_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write("password: ");
  return (await text(process.stdin)).replace(/\r?\n$/, "");
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: "string", multiple: true } },
  });
  const [command, username] = positionals;
  if (!username || (command !== "create-user" && command !== "reset-password")) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig({ ...process.env, SESSION_WAIT_REPLICAS: "0" });
  const deps = await createDependencies(config, createLogger("warn"));
  try {
    const password = await readPassword();
    const user =
      command === "create-user"
        ? await register(deps.accounts, { username, password, roles: values.role ?? [] })
        : await resetPassword(deps.accounts, username, password);
    process.stdout.write(`${JSON.stringify(user)}\n`);
    return 0;
  } finally {
    await deps.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof AuthError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
