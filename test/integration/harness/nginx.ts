// A real NGINX master started by the test (daemon off, so the pid we hold is the master),
// with its own prefix, config, logs and temp dirs. Reloads are SIGHUP to that pid; a reload
// is complete when the admin endpoint answers with the new config generation.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Proc, freePort, httpGet, requireBinary, start, waitFor } from "./process";

/** Child pids of the master (its workers), from /proc; undefined where the kernel does not expose them. */
function workers(master: number): number[] | undefined {
    const file = `/proc/${master}/task/${master}/children`;
    if (!fs.existsSync(file)) return undefined;
    return fs.readFileSync(file, "utf8").trim().split(/\s+/).filter((x) => x !== "").map(Number);
}

export class NginxServer {
    readonly confPath: string;
    readonly accessLog: string;
    readonly errorLog: string;
    private proc: Proc | undefined;

    private constructor(readonly binary: string, readonly dir: string, readonly port: number, readonly adminPort: number) {
        this.confPath = path.join(dir, "nginx.conf");
        this.accessLog = path.join(dir, "access.log");
        this.errorLog = path.join(dir, "error.log");
    }

    static async create(dir: string): Promise<NginxServer> {
        const binary = requireBinary("nginx", ["/usr/sbin/nginx"]);
        for (const d of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) fs.mkdirSync(path.join(dir, "tmp", d), { recursive: true });
        return new NginxServer(binary, dir, await freePort(), await freePort());
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    get pid(): number | undefined {
        return this.proc?.running === true ? this.proc.pid : undefined;
    }

    /** The main-context and http-context lines every generated config starts with. */
    preamble(): string {
        const asRoot = process.getuid?.() === 0;
        return [
            asRoot ? "user root root;" : "",
            "daemon off;",
            "master_process on;",
            // one worker: weighted round robin is then exact, not per-worker approximate
            "worker_processes 1;",
            `pid ${path.join(this.dir, "nginx.pid")};`,
            `error_log ${this.errorLog} warn;`,
            "events { worker_connections 1024; }",
        ].filter((l) => l !== "").join("\n");
    }

    /** Paths and the JSON access log, inside `http {}`. */
    httpPreamble(): string {
        const tmp = (d: string) => path.join(this.dir, "tmp", d);
        return [
            `client_body_temp_path ${tmp("client_body")};`,
            `proxy_temp_path ${tmp("proxy")};`,
            `fastcgi_temp_path ${tmp("fastcgi")};`,
            `uwsgi_temp_path ${tmp("uwsgi")};`,
            `scgi_temp_path ${tmp("scgi")};`,
            "log_format canary_json escape=json '{\"msec\":$msec,\"request_id\":\"$request_id\",\"method\":\"$request_method\"," +
                "\"uri\":\"$uri\",\"host\":\"$host\",\"status\":$status,\"upstream_addr\":\"$upstream_addr\"," +
                "\"upstream_status\":\"$upstream_status\",\"request_time\":$request_time," +
                "\"upstream_response_time\":\"$upstream_response_time\",\"backend\":\"$canary_backend\"}';",
            `access_log ${this.accessLog} canary_json;`,
        ].join("\n    ");
    }

    /** `nginx -t` on a config; throws with nginx's own message when it is invalid. */
    test(conf: string): void {
        const probe = path.join(this.dir, "nginx.test.conf");
        fs.writeFileSync(probe, conf);
        const r = spawnSync(this.binary, ["-t", "-q", "-p", this.dir + "/", "-e", this.errorLog, "-c", probe], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`nginx -t rejected the generated config:\n${r.stderr}\n---\n${conf}`);
    }

    async start(conf: string, generation: number): Promise<void> {
        this.test(conf);
        fs.writeFileSync(this.confPath, conf);
        fs.writeFileSync(this.accessLog, "");
        this.proc = start("nginx", this.binary, ["-p", this.dir + "/", "-e", this.errorLog, "-c", this.confPath]);
        await this.waitGeneration(generation);
    }

    /** Writes the config, SIGHUPs the master we started, waits until workers serve it. */
    async reload(conf: string, generation: number): Promise<void> {
        if (this.proc === undefined || !this.proc.running) throw new Error("nginx is not running: reload before start");
        this.test(conf);
        fs.writeFileSync(this.confPath, conf);
        const master = this.proc.pid;
        const old = workers(master);
        this.proc.signal("SIGHUP");
        await this.waitGeneration(generation);
        // old workers keep accepting for a moment after a reload: done when all have exited
        if (old === undefined) return;
        await waitFor(`nginx workers of generation < ${generation} to exit`, async () => {
            const now = workers(master) ?? [];
            return now.length > 0 && now.every((pid) => !old.includes(pid));
        }, 10000, this.proc);
    }

    /** GET the admin endpoint that reports what the running workers were configured with. */
    async admin(): Promise<Record<string, unknown>> {
        const r = await httpGet(`http://127.0.0.1:${this.adminPort}/__routes`);
        if (r.status !== 200) throw new Error(`nginx admin /__routes answered ${r.status}: ${r.body}`);
        return JSON.parse(r.body) as Record<string, unknown>;
    }

    private async waitGeneration(generation: number): Promise<void> {
        await waitFor(`nginx to serve config generation ${generation}`, async () => (await this.admin()).generation === generation, 10000, this.proc);
    }

    async stop(): Promise<void> {
        // SIGQUIT is NGINX's graceful shutdown; Proc.stop escalates to SIGKILL
        if (this.proc?.running === true) this.proc.signal("SIGQUIT");
        await this.proc?.stop();
    }
}
