// A Flagger-loadtester-compatible webhook server (fluxcd/flagger pkg/loadtester, its `/` API):
//
// POST /  {name, namespace, phase, checksum, metadata: {type: "cmd", cmd: "hey ...", blocking?}}
//   Runs the command; only `hey` is allowed, split into argv (no shell). As Flagger's
//   loadtester does, a command runs in the background and the answer is 202 Accepted, and the
//   same command for the same canary is not started twice while it runs. With
//   metadata.blocking "true" the command runs to completion: 200 when it exits 0, 500 with its
//   output otherwise (so the load of one analysis step is generated before the step's checks).
// POST /  {..., metadata: {type: "bash", cmd: "curl -sd 'test' http://... | grep token"}}
//   As Flagger's bash tasks: runs to completion, 200 when it exits 0, 500 with its output
//   otherwise. Not a shell: only pipelines of curl, grep and hey, parsed by pipeline.ts (which
//   says what it refuses) and run as processes piped together.
// POST /acceptance  {..., metadata: {url, expectStatus?}}: an acceptance test; GETs the url
//   and answers 200 when the status is the expected one (default 200), 500 naming both otherwise.
// URLs (`http://...` words of a command, the acceptance url) go through `resolveUrl` first: the
// e2e data plane maps in-cluster names (podinfo-canary.test:9898) to the 127.0.0.1 port of the
// process behind them; one it cannot resolve fails the call with 500 naming it. Without
// `resolveUrl` (the integration tier) URLs are used as given.
// Requests are routed on the path alone: a query string (a token, as webhook URLs often carry)
// is recorded with the call. An unknown path is answered 404 echoing the whole request URL,
// query included, as many servers do (so tests see whether a caller leaks what it is answered).
// Every call is recorded (path, query, payload, answer) for assertions.
import { spawn } from "child_process";
import * as http from "http";
import * as net from "net";
import { HookPayload } from "../../components/canary/hooks/client";
import { httpGet, requireBinary } from "./harness/process";
import { parsePipeline, runPipeline } from "./pipeline";

/** Programs a `type: bash` command may run. */
export const BASH_PROGRAMS = ["curl", "grep", "hey"] as const;

export interface LoadTesterOptions {
    /** Maps a URL of a command or acceptance test to the one to use; rejects when it cannot. Default: as given. */
    readonly resolveUrl?: (url: string) => Promise<string>;
    /** Deadline of a `type: bash` command, ms. Default 60000. */
    readonly bashTimeoutMs?: number;
}

export interface HookCall {
    readonly path: string;
    /** The request's query string with its "?", or "" */
    readonly query: string;
    readonly payload: HookPayload;
    readonly status: number;
    readonly at: number;
}

/** A command the loadtester ran: hey's argv, or for a `type: bash` pipeline one entry per command. */
export interface HeyRun {
    readonly argv: readonly string[];
    readonly startedAt: number;
    endedAt?: number;
    exitCode?: number | null;
    output: string;
}

export class LoadTester {
    private server: http.Server | undefined;
    private readonly hey = requireBinary("hey", ["/usr/bin/hey"]);
    private readonly running = new Map<string, Promise<HeyRun>>();
    private readonly children = new Set<number>();
    private readonly binaries = new Map<string, string>();
    readonly calls: HookCall[] = [];
    readonly runs: HeyRun[] = [];
    port = 0;

    constructor(readonly opts: LoadTesterOptions = {}) {}

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                this.handle(req.url ?? "/", body).then(
                    ({ status, text }) => res.writeHead(status, { "content-type": "text/plain" }).end(text),
                    (e: unknown) => res.writeHead(500).end(e instanceof Error ? e.message : String(e)),
                );
            });
        });
        await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as net.AddressInfo).port;
    }

    /** Waits for background commands (unless `wait: false`: they are killed), then closes the server. */
    async stop(opts: { wait?: boolean } = {}): Promise<void> {
        if (opts.wait ?? true) await Promise.allSettled([...this.running.values()]);
        for (const pid of this.children) {
            try {
                process.kill(pid, "SIGKILL"); // a hey we started and that outlived its run
            } catch {
                // already gone
            }
        }
        const srv = this.server;
        if (srv === undefined) return;
        srv.closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
    }

    private async handle(requestUrl: string, body: string): Promise<{ status: number; text: string }> {
        const { pathname: path, search: query } = new URL(requestUrl, "http://loadtester");
        let payload: HookPayload;
        try {
            payload = JSON.parse(body) as HookPayload;
        } catch {
            return this.answer(path, query, undefined, 400, "decoding the request body failed");
        }
        const md = payload.metadata ?? {};
        if (path === "/acceptance") {
            const expect = Number(md.expectStatus ?? "200");
            if (md.url === undefined) return this.answer(path, query, payload, 400, "metadata.url not set");
            let url: string;
            try {
                url = await this.resolve(md.url);
            } catch (e) {
                return this.answer(path, query, payload, 500, `acceptance failed: ${md.url}: ${e instanceof Error ? e.message : String(e)}`);
            }
            const r = await httpGet(url).catch((e: Error) => ({ status: 0, body: e.message }));
            const shown = url === md.url ? url : `${md.url} (${url})`;
            return r.status === expect
                ? this.answer(path, query, payload, 200, `acceptance ok: ${shown} answered ${r.status}`)
                : this.answer(path, query, payload, 500, `acceptance failed: ${shown} answered ${r.status}, expected ${expect}`);
        }
        if (path !== "/") return this.answer(path, query, payload, 404, `unknown path ${requestUrl}`);
        if (Object.keys(md).length === 0) return this.answer(path, query, payload, 400, "metadata not found in payload");
        const type = md.type ?? "cmd";
        if (type === "bash") return this.bash(path, query, payload, md.cmd ?? "");
        if (type !== "cmd") return this.answer(path, query, payload, 400, `unknown task type ${type}`);
        let argv = (md.cmd ?? "").trim().split(/\s+/);
        if (argv[0] !== "hey") return this.answer(path, query, payload, 400, `only hey commands are allowed, got ${JSON.stringify(md.cmd)}`);
        try {
            argv = await this.resolveWords(argv);
        } catch (e) {
            return this.answer(path, query, payload, 500, `command ${md.cmd} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        const key = `${payload.name}.${payload.namespace} ${md.cmd}`;
        if (md.blocking === "true") {
            const run = await this.run(argv.slice(1));
            return run.exitCode === 0
                ? this.answer(path, query, payload, 200, run.output)
                : this.answer(path, query, payload, 500, `command ${md.cmd} failed (exit ${run.exitCode}): ${run.output.slice(-500)}`);
        }
        if (!this.running.has(key)) {
            const p = this.run(argv.slice(1)).finally(() => this.running.delete(key));
            this.running.set(key, p);
        }
        return this.answer(path, query, payload, 202, "task started");
    }

    /** A Flagger `type: bash` task: a curl/grep/hey pipeline run to completion. */
    private async bash(path: string, query: string, payload: HookPayload, cmd: string): Promise<{ status: number; text: string }> {
        let argvs: string[][];
        try {
            argvs = parsePipeline(cmd, BASH_PROGRAMS);
        } catch (e) {
            return this.answer(path, query, payload, 400, `bash command refused: ${e instanceof Error ? e.message : String(e)}`);
        }
        try {
            argvs = await Promise.all(argvs.map((a) => this.resolveWords(a)));
        } catch (e) {
            return this.answer(path, query, payload, 500, `command ${cmd} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        const run: HeyRun = { argv: argvs.map((a) => a.join(" ")), startedAt: Date.now(), output: "" };
        this.runs.push(run);
        const r = await runPipeline(argvs, (name) => this.binary(name), this.opts.bashTimeoutMs ?? 60000,
            (pid, exited) => (exited ? this.children.delete(pid) : this.children.add(pid)));
        run.endedAt = Date.now();
        run.exitCode = r.code;
        run.output = r.stdout + r.stderr;
        return r.code === 0
            ? this.answer(path, query, payload, 200, r.stdout)
            : this.answer(path, query, payload, 500, `command ${cmd} failed (exit ${r.code}): ${(r.stdout + r.stderr).slice(-500)}`);
    }

    private binary(name: string): string {
        let b = this.binaries.get(name);
        if (b === undefined) {
            b = requireBinary(name, [`/usr/bin/${name}`], `apt-get install -y ${name}`); // Debian names the packages after them
            this.binaries.set(name, b);
        }
        return b;
    }

    private resolve(url: string): Promise<string> {
        return this.opts.resolveUrl === undefined ? Promise.resolve(url) : this.opts.resolveUrl(url);
    }

    /** The words of an argv with every `http(s)://` URL resolved. */
    private resolveWords(argv: readonly string[]): Promise<string[]> {
        return Promise.all(argv.map((w) => (/^https?:\/\//.test(w) ? this.resolve(w) : Promise.resolve(w))));
    }

    private answer(path: string, query: string, payload: HookPayload | undefined, status: number, text: string): { status: number; text: string } {
        if (payload !== undefined) this.calls.push({ path, query, payload, status, at: Date.now() });
        return { status, text };
    }

    private run(args: readonly string[]): Promise<HeyRun> {
        const run: HeyRun = { argv: ["hey", ...args], startedAt: Date.now(), output: "" };
        this.runs.push(run);
        return new Promise((resolve) => {
            const child = spawn(this.hey, args, { stdio: ["ignore", "pipe", "pipe"] });
            if (child.pid !== undefined) this.children.add(child.pid);
            child.stdout.on("data", (b: Buffer) => (run.output += b.toString()));
            child.stderr.on("data", (b: Buffer) => (run.output += b.toString()));
            child.on("error", (e) => {
                run.output += e.message;
            });
            child.on("close", (code) => {
                if (child.pid !== undefined) this.children.delete(child.pid);
                run.endedAt = Date.now();
                run.exitCode = code;
                resolve(run);
            });
        });
    }
}
