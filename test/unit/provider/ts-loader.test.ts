// ts-loader.js in fresh node processes (this one already has ts-node's hook).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TS } from "../../../components/canary/provider/resource";

interface Run { value: unknown; typescriptLoaded: boolean; registered: boolean }

/** Registers the loader in a new node process, requires `entry`, reports what happened. */
function run(entry: string, cacheDir: string, preregister = false): Run {
    const script = `
        ${preregister ? 'require.extensions[".ts"] = require.extensions[".js"];' : ""}
        const registered = require(${JSON.stringify(TS.loader)}).register({ tsconfig: ${JSON.stringify(TS.tsconfig)}, cacheDir: ${JSON.stringify(cacheDir)} });
        const value = registered ? require(${JSON.stringify(entry)}).value : null;
        const typescriptLoaded = Object.keys(require.cache).some((k) => k.endsWith(${JSON.stringify(path.join("typescript", "lib", "typescript.js"))}));
        process.stdout.write(JSON.stringify({ value, typescriptLoaded, registered }));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: path.dirname(TS.tsconfig), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Run;
}

describe("ts-loader.js: the provider process's .ts hook with an on-disk transpile cache", function () {
    this.timeout(30_000);
    let dir: string;
    let cacheDir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ts-loader-"));
        cacheDir = path.join(dir, "cache");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

    it("transpiles on a miss, then serves the cache without loading TypeScript", () => {
        write("dep.ts", "export enum Color { Red = 1, Green }\n");
        write("main.ts", 'import { Color } from "./dep";\nconst n: number = Color.Green;\nexport const value = `green=${n}`;\n');
        const first = run(path.join(dir, "main.ts"), cacheDir);
        assert.deepEqual(first, { value: "green=2", typescriptLoaded: true, registered: true });
        assert.equal(fs.readdirSync(cacheDir).filter((f) => f.endsWith(".js")).length, 2);

        const second = run(path.join(dir, "main.ts"), cacheDir);
        assert.deepEqual(second, { value: "green=2", typescriptLoaded: false, registered: true });
    });

    it("a changed source is transpiled again, never served stale", () => {
        write("main.ts", "export const value: string = 'one';\n");
        assert.equal(run(path.join(dir, "main.ts"), cacheDir).value, "one");
        write("main.ts", "export const value: string = 'two';\n");
        const r = run(path.join(dir, "main.ts"), cacheDir);
        assert.deepEqual(r, { value: "two", typescriptLoaded: true, registered: true });
        assert.equal(fs.readdirSync(cacheDir).length, 2);
    });

    it("an unwritable cache only costs speed", () => {
        write("main.ts", "export const value: number = 42;\n");
        fs.writeFileSync(cacheDir, "a file where the cache directory should be");
        assert.equal(run(path.join(dir, "main.ts"), cacheDir).value, 42);
    });

    it("leaves an existing .ts hook (ts-node in a program or a test) alone", () => {
        write("main.ts", "export const value = 1;\n");
        assert.equal(run(path.join(dir, "main.ts"), cacheDir, true).registered, false);
    });
});
