// Lint: type-aware rules that catch the bugs this codebase cares about
// (floating promises in the scheduler, `||` defaults that eat zeros).
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "toolchain/**", ".tmp/**"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { project: "./tsconfig.json" } },
        rules: {
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/prefer-nullish-coalescing": "error",
            "@typescript-eslint/no-explicit-any": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        // CommonJS on purpose: the provider process's .ts loader (ts-loader.js says why)
        files: ["**/*.js"],
        languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable", process: "readonly" } },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
