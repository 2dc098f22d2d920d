// A stack of this repository's own project (Pulumi.yaml, index.ts), driven through the real
// Pulumi CLI exactly as a user drives it: `pulumi stack init`, `pulumi config set`, `pulumi up`,
// `pulumi preview`, `pulumi destroy`, run in the repo root. The e2e tier, `npm run demo` and
// `npm run bench` all use it; nothing here builds a program of its own.
//
// Plain config goes into the stack file Pulumi.<stack>.yaml (objects such as canary:analysis as
// YAML, as a user writes them); secrets go through `pulumi config set --secret`, which encrypts
// them with the stack's passphrase. `remove()` runs `pulumi stack rm`, which deletes the stack
// file too (the file is .gitignored while it exists).
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { repoRoot } from "./pulumi-env";

/** What a CLI run ended with; `out` is stdout and stderr interleaved as they arrived. */
export interface CliResult {
    readonly args: readonly string[];
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly out: string;
    readonly ms: number;
}

export interface RunOptions {
    /** Written to the CLI's stdin, then closed. */
    readonly stdin?: string;
    /** Each chunk of output as it arrives (progress lines). */
    readonly onOutput?: (chunk: string) => void;
}

/** The preview's change counts by operation (`same`, `update`, `create`, ...). */
export type ChangeSummary = Record<string, number>;

/** One step of a `pulumi preview --json` plan: the operation and the resource's type and name. */
export interface PlanStep {
    readonly op: string;
    readonly type: string;
    readonly name: string;
}

export class ProjectStack {
    /** The stack's settings file, in the repo root beside Pulumi.yaml. */
    readonly file: string;

    /**
     * @param name    stack name (also the stack file's name)
     * @param pulumi  the CLI binary
     * @param envVars PATH (CLI, plugins, dynamic-provider shim), PULUMI_HOME, backend, passphrase
     */
    constructor(readonly name: string, readonly pulumi: string, readonly envVars: Record<string, string>) {
        this.file = path.join(repoRoot, `Pulumi.${name}.yaml`);
    }

    /** Runs `pulumi ARGS` in the repo root; resolves with the result whatever the exit code. */
    run(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
        const child = this.spawn(args, false);
        return this.collect(child, args, opts);
    }

    /** Like run(), but throws an error carrying the output when the CLI exits non-zero. */
    async mustRun(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
        const r = await this.run(args, opts);
        if (r.code !== 0) throw new CliError(r);
        return r;
    }

    /**
     * Starts `pulumi ARGS` in a process group of its own (pid = pgid), as a terminal or a CI
     * runner starts it, so a test can signal the whole group; `result` settles when it exits.
     */
    start(args: readonly string[], opts: RunOptions = {}): { child: ChildProcess; result: Promise<CliResult> } {
        const child = this.spawn(args, true);
        return { child, result: this.collect(child, args, opts) };
    }

    /** `pulumi stack init`: a new stack, its file holding only the passphrase salt. */
    async init(): Promise<void> {
        await this.mustRun(["stack", "init"]);
    }

    /** Sets plain config values in the stack file (keys with their namespace, e.g. canary:image). */
    setConfig(values: Record<string, unknown>): void {
        const doc = this.readFile();
        const config = (doc.config ?? {}) as Record<string, unknown>;
        for (const [k, v] of Object.entries(values)) {
            if (v === undefined) delete config[k];
            else config[k] = v;
        }
        doc.config = config;
        fs.writeFileSync(this.file, YAML.stringify(doc));
    }

    /** The stack file's config section as written (secrets as their ciphertext objects). */
    config(): Record<string, unknown> {
        return (this.readFile().config ?? {}) as Record<string, unknown>;
    }

    /**
     * `pulumi config set --secret KEY` with the value on stdin (it never shows in a process list).
     * With `path`, KEY is a path into an object value (`canary:analysis.webhooks[0].url`).
     */
    async setSecret(key: string, value: string, opts: { path?: boolean } = {}): Promise<void> {
        await this.mustRun(["config", "set", "--secret", ...(opts.path === true ? ["--path"] : []), key], { stdin: value });
    }

    up(extra: readonly string[] = [], opts: RunOptions = {}): Promise<CliResult> {
        return this.run(["up", "--yes", "--skip-preview", ...extra], opts);
    }

    /** `pulumi preview --json`: the change summary (the CLI's own count of steps by operation). */
    async preview(extra: readonly string[] = []): Promise<ChangeSummary> {
        const r = await this.mustRun(["preview", "--json", ...extra]);
        const json = JSON.parse(r.out.slice(r.out.indexOf("{"))) as { changeSummary?: ChangeSummary };
        return json.changeSummary ?? {};
    }

    /** `pulumi preview --json --show-sames`: every step of the plan, with its operation (same, update, replace, create-replacement, ...). */
    async plan(extra: readonly string[] = []): Promise<PlanStep[]> {
        // without --show-sames the JSON leaves out the resources that do not change
        const r = await this.mustRun(["preview", "--json", "--show-sames", ...extra]);
        const json = JSON.parse(r.out.slice(r.out.indexOf("{"))) as { steps?: { op: string; urn: string }[] };
        return (json.steps ?? []).map((s) => {
            const [type, name] = s.urn.split("::").slice(-2);
            return { op: s.op, type: type.slice(type.lastIndexOf("$") + 1), name };
        });
    }

    /** The stack outputs (secrets shown), as `pulumi stack output --json`. */
    async outputs(): Promise<Record<string, unknown>> {
        const r = await this.mustRun(["stack", "output", "--json", "--show-secrets"]);
        return JSON.parse(r.out) as Record<string, unknown>;
    }

    destroy(opts: RunOptions = {}): Promise<CliResult> {
        return this.run(["destroy", "--yes", "--skip-preview"], opts);
    }

    /** `pulumi stack rm --force`: forgets the stack and deletes its file. */
    async remove(): Promise<void> {
        await this.run(["stack", "rm", "--yes", "--force"]);
        fs.rmSync(this.file, { force: true });
    }

    private readFile(): Record<string, unknown> {
        return fs.existsSync(this.file) ? (YAML.parse(fs.readFileSync(this.file, "utf8")) ?? {}) as Record<string, unknown> : {};
    }

    private spawn(args: readonly string[], detached: boolean): ChildProcess {
        return spawn(this.pulumi, [...args, "--stack", this.name, "--color", "never", "--non-interactive"], {
            cwd: repoRoot,
            env: { ...process.env, ...this.envVars },
            stdio: ["pipe", "pipe", "pipe"],
            detached,
        });
    }

    private collect(child: ChildProcess, args: readonly string[], opts: RunOptions): Promise<CliResult> {
        const t0 = Date.now();
        let out = "";
        const take = (b: Buffer) => {
            const s = b.toString();
            out += s;
            opts.onOutput?.(s);
        };
        child.stdout?.on("data", take);
        child.stderr?.on("data", take);
        child.stdin?.end(opts.stdin ?? "");
        return new Promise((resolve, reject) => {
            child.once("error", reject);
            child.once("close", (code, signal) => resolve({ args, code, signal, out, ms: Date.now() - t0 }));
        });
    }
}

/** A CLI run that exited non-zero; the message ends with the CLI's output. */
export class CliError extends Error {
    constructor(readonly result: CliResult) {
        super(`pulumi ${result.args.join(" ")} exited ${result.code ?? result.signal}:\n${result.out}`);
    }
}
