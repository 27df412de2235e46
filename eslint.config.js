// ESLint (flat config) with typescript-eslint's type-aware recommended rules.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Storage and hashing clients: only adapters/ imports them. */
const CLIENTS = ["ioredis", "pg", "@prisma/*", "bcrypt", "piscina", "rate-limiter-flexible"];
/** Frameworks and instrumentation: not in the domain. */
const FRAMEWORKS = ["express", "helmet", "cookie", "ws", "zod", "pino", "prom-client", "@opentelemetry/*"];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "service/src/generated/", ".state/", "coverage/", "service/bench/peers/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/only-throw-error": "off",
    },
  },
  // The layers (README, "Layout"): the domain (auth/) knows no framework, client or other layer; the HTTP
  // layer reaches storage only through the domain's ports; adapters never reach up into HTTP.
  {
    files: ["service/src/auth/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["../*"], message: "auth/ is the domain: it imports only itself (the ports say what it needs)." },
            { group: [...CLIENTS, ...FRAMEWORKS], message: "auth/ is the domain: no framework or client; adapters implement its ports." },
          ],
        },
      ],
    },
  },
  {
    files: ["service/src/http/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/adapters/**"], message: "http/ reaches storage through the domain's ports, wired in dependencies.ts." },
            { group: CLIENTS, message: "http/ uses no storage client; the adapters do." },
          ],
        },
      ],
    },
  },
  {
    files: ["service/src/adapters/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/http/**"], message: "adapters never reach up into the HTTP layer." }] }],
    },
  },
  {
    // Tests read untyped JSON bodies (supertest) and write small async fakes.
    files: ["service/test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/require-await": "off",
      // Rendered Kubernetes objects are deep untyped trees.
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    // The demo page's script runs in the browser.
    files: ["service/demo/**/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { document: "readonly", fetch: "readonly", location: "readonly", WebSocket: "readonly", FormData: "readonly", setTimeout: "readonly" },
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
