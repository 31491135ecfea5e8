// The linter's rules: typescript-eslint's recommended set with type information, and the layering
// rule docs/design.md states (lib/ is what every agent run shares: it imports no agent, command
// or topology code; only lib/cli/main.ts, the one table of commands, reaches them).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", ".lab/", "bench/results/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test's test() and describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      // The recommended settings, plus Secret (lib/secret.ts): it is made to be interpolated, as
      // "[hidden]"; that is how a secret is redacted.
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        {
          allowAny: true,
          allowBoolean: true,
          allowNullish: true,
          allowNumber: true,
          allowRegExp: true,
          allow: [{ from: "file", name: "Secret", path: "lib/secret.ts" }],
        },
      ],
      // Device callbacks and test peers implement async interfaces; some have nothing to await.
      "@typescript-eslint/require-await": "off",
    },
  },
  // lib/ is what every agent run shares: it imports no agent, command or topology code (only
  // lib/cli/main.ts, the one table of commands, reaches them). A pattern per depth, so that
  // lib/x/y.ts may import ../fence/ (lib/fence) but not ../../fence/ (the agents).
  ...[
    ["lib/*.ts", "\\.\\./"],
    ["lib/*/*.ts", "(\\.\\./){2}"],
    ["lib/*/*/*.ts", "(\\.\\./){3}"],
  ].map(([files, up]) => ({
    files: [files],
    ignores: ["lib/cli/main.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: `^${up}(fence|agents|commands|topology)/`,
              message:
                "lib/ is shared by every agent run: it imports no agent, command or topology code",
            },
          ],
        },
      ],
    },
  })),
  { files: ["**/*.mjs", "**/*.js"], ...tseslint.configs.disableTypeChecked },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        performance: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
  },
);
