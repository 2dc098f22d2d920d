// A Flagger-loadtester-compatible webhook server (fluxcd/flagger pkg/loadtester, its `/` API):
//
// POST /  {name, namespace, phase, checksum, metadata: {type: "cmd", cmd: "hey ...", blocking?}}
//   Runs the command; only `hey` is allowed, split into argv (no shell). As Flagger's
//   loadtester does, a command runs in the background and the answer is 202 Accepted, and the
//   same command for the same canary is not started twice while it runs. With
//   metadata.blocking "true" the command runs to completion: 200 when it exits 0, 500 with its
//   output otherwise (so the load of one analysis step is generated before the step's checks).
// POST /acceptance  {..., metadata: {url, expectStatus?}}: an acceptance test; GETs the url
//   and answers 200 when the status is the expected one (default 200), 500 naming both otherwise.
// Every call is recorded (path, payload, answer) for assertions.
import { spawn } from "child_process";
import * as http from "http";
import * as net from "net";
import { HookPayload } from "../../components/canary/hooks/client";
import { httpGet, requireBinary } from "./harness/process";

export interface HookCall {
    readonly path: string;
    readonly payload: HookPayload;
    readonly status: number;
    readonly at: number;
}

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
    readonly calls: HookCall[] = [];
    readonly runs: HeyRun[] = [];
    port = 0;

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

    /** Waits for background commands, then closes the server. */
    async stop(): Promise<void> {
        await Promise.allSettled([...this.running.values()]);
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

    private async handle(path: string, body: string): Promise<{ status: number; text: string }> {
        let payload: HookPayload;
        try {
            payload = JSON.parse(body) as HookPayload;
        } catch {
            return this.answer(path, undefined, 400, "decoding the request body failed");
        }
        const md = payload.metadata ?? {};
        if (path === "/acceptance") {
            const expect = Number(md.expectStatus ?? "200");
            if (md.url === undefined) return this.answer(path, payload, 400, "metadata.url not set");
            const r = await httpGet(md.url).catch((e: Error) => ({ status: 0, body: e.message }));
            return r.status === expect
                ? this.answer(path, payload, 200, `acceptance ok: ${md.url} answered ${r.status}`)
                : this.answer(path, payload, 500, `acceptance failed: ${md.url} answered ${r.status}, expected ${expect}`);
        }
        if (path !== "/") return this.answer(path, payload, 404, `unknown path ${path}`);
        if (Object.keys(md).length === 0) return this.answer(path, payload, 400, "metadata not found in payload");
        const type = md.type ?? "cmd";
        if (type !== "cmd") return this.answer(path, payload, 400, `unknown task type ${type}`);
        const argv = (md.cmd ?? "").trim().split(/\s+/);
        if (argv[0] !== "hey") return this.answer(path, payload, 400, `only hey commands are allowed, got ${JSON.stringify(md.cmd)}`);
        const key = `${payload.name}.${payload.namespace} ${md.cmd}`;
        if (md.blocking === "true") {
            const run = await this.run(argv.slice(1));
            return run.exitCode === 0
                ? this.answer(path, payload, 200, run.output)
                : this.answer(path, payload, 500, `command ${md.cmd} failed (exit ${run.exitCode}): ${run.output.slice(-500)}`);
        }
        if (!this.running.has(key)) {
            const p = this.run(argv.slice(1)).finally(() => this.running.delete(key));
            this.running.set(key, p);
        }
        return this.answer(path, payload, 202, "task started");
    }

    private answer(path: string, payload: HookPayload | undefined, status: number, text: string): { status: number; text: string } {
        if (payload !== undefined) this.calls.push({ path, payload, status, at: Date.now() });
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
