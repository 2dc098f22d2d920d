// A require hook for the provider process: transpiles this project's .ts modules with
// TypeScript's transpileModule and keeps the output on disk, keyed by a hash of the source,
// the compiler options and the TypeScript version. A `pulumi preview` starts a fresh provider
// process every time; with a warm cache it loads the release code in tens of milliseconds
// instead of registering ts-node and transpiling everything again (about 1.2 s measured).
//
// Plain JavaScript on purpose: it is what makes .ts loadable, so it cannot be .ts itself.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/**
 * Registers the hook unless a `.ts` loader is already there (ts-node in tests, a program).
 * options: { tsconfig: path of tsconfig.json (its compilerOptions are used), cacheDir }.
 */
function register(options) {
    const exts = require.extensions;
    if (exts[".ts"] !== undefined) return false;
    const tsVersion = require("typescript/package.json").version;
    const compilerOptions = JSON.parse(fs.readFileSync(options.tsconfig, "utf8")).compilerOptions;
    const optionsKey = JSON.stringify(compilerOptions);
    let ts; // the compiler itself, loaded only on a cache miss
    exts[".ts"] = function (module, filename) {
        const source = fs.readFileSync(filename, "utf8");
        const key = crypto.createHash("sha256").update(`${tsVersion}\0${optionsKey}\0${filename}\0${source}`).digest("hex");
        const cached = path.join(options.cacheDir, `${key}.js`);
        let js;
        try {
            js = fs.readFileSync(cached, "utf8");
        } catch {
            ts = ts || require("typescript");
            js = ts.transpileModule(source, { fileName: filename, compilerOptions }).outputText;
            store(cached, js);
        }
        module._compile(js, filename);
    };
    return true;
}

/** Writes atomically (two provider processes may transpile the same file); a cache that cannot be written is no error. */
function store(file, text) {
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, file);
    } catch {
        // read-only checkout: transpile every time
    }
}

module.exports = { register };
