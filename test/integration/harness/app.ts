// Runs the test app (app/server.ts) as a real process on a fixed loopback port, so a stopped
// canary is a closed port and a restarted one comes back where NGINX expects it.
import * as path from "path";
import { Proc, freePort, httpGet, start, waitFor } from "./process";

const SERVER = path.join(__dirname, "..", "app", "server.ts");

export interface AppFaults {
    /** Probability that a request to / is answered 500 (drawn from the app's seeded PRNG). */
    readonly errorRate?: number;
    /** Added latency on /, ms. */
    readonly latencyMs?: number;
    /** Status of /healthz (what acceptance tests see). */
    readonly healthzStatus?: number;
}

export class AppInstance {
    private proc: Proc | undefined;
    /** Every process this instance started, for the report and for cleanup. */
    readonly pids: number[] = [];

    /** Seed of the app's error draws (`--seed`); each start uses it again, so a restart replays the sequence. */
    seed: number | undefined;

    private constructor(readonly name: string, readonly port: number, public version: string, public faults: AppFaults, seed: number | undefined) {
        this.seed = seed;
    }

    /** An instance on a free loopback port (or `opts.port`), not started. */
    static async create(name: string, version: string, faults: AppFaults = {}, opts: { seed?: number; port?: number } = {}): Promise<AppInstance> {
        return new AppInstance(name, opts.port ?? await freePort(), version, faults, opts.seed);
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    get running(): boolean {
        return this.proc?.running ?? false;
    }

    async start(): Promise<void> {
        if (this.running) return;
        const args = ["-r", "ts-node/register/transpile-only", SERVER, "--port", String(this.port), "--version", this.version];
        if (this.faults.errorRate !== undefined) args.push("--error-rate", String(this.faults.errorRate));
        if (this.faults.latencyMs !== undefined) args.push("--latency-ms", String(this.faults.latencyMs));
        if (this.faults.healthzStatus !== undefined) args.push("--healthz-status", String(this.faults.healthzStatus));
        if (this.seed !== undefined) args.push("--seed", String(this.seed));
        const proc = start(this.name, process.execPath, args, { cwd: path.join(__dirname, "..", "..", "..") });
        this.proc = proc;
        this.pids.push(proc.pid);
        await waitFor(`${this.name} v${this.version} on ${this.url}/readyz`, async () => (await httpGet(`${this.url}/readyz`)).status === 200, 20000, proc);
    }

    async stop(): Promise<void> {
        await this.proc?.stop();
    }

    /** Replaces the running version (the primary taking the promoted template). */
    async redeploy(version: string, faults: AppFaults): Promise<void> {
        await this.stop();
        this.version = version;
        this.faults = faults;
        await this.start();
    }

    /** The version this instance answers with on `/`, read over HTTP. */
    async servedVersion(): Promise<string> {
        const r = await httpGet(`${this.url}/`);
        return (JSON.parse(r.body) as { version: string }).version;
    }

    /** Requests the app itself counted, by `path status`. */
    async requestCounts(): Promise<Record<string, number>> {
        const r = await httpGet(`${this.url}/admin/faults`);
        return (JSON.parse(r.body) as { requests: Record<string, number> }).requests;
    }
}
