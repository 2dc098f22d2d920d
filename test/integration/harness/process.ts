// Child processes of the integration tier: started on 127.0.0.1, stopped by the pid we hold.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const INSTALL_HINT = "apt-get install -y prometheus nginx hey";

/** Absolute path of a required binary; throws (the test fails) naming the install command when it is missing. */
export function requireBinary(name: string, candidates: readonly string[] = [], hint = INSTALL_HINT): string {
    for (const c of candidates) if (fs.existsSync(c)) return c;
    const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    const found = r.stdout.trim();
    if (r.status === 0 && found !== "") return found;
    throw new Error(`the tests need the "${name}" binary, which is not installed: run \`${hint}\``);
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it back, close). */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address() as net.AddressInfo;
            srv.close(() => resolve(addr.port));
        });
    });
}

/** Processes started and not yet exited: killed, by pid, if the test run itself exits first. */
const live = new Set<Proc>();
process.once("exit", () => {
    for (const p of live) {
        try {
            process.kill(p.pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
});

/** A process we started; `stop` signals exactly its pid. */
export class Proc {
    private readonly exited: Promise<number | null>;
    private exitCode: number | null | undefined;
    readonly output: string[] = [];

    constructor(readonly name: string, readonly child: ChildProcess) {
        live.add(this);
        this.exited = new Promise((resolve) => {
            child.once("exit", (code, signal) => {
                live.delete(this);
                this.exitCode = code ?? (signal === null ? null : -1);
                resolve(this.exitCode);
            });
        });
        const keep = (b: Buffer) => {
            this.output.push(b.toString());
            if (this.output.length > 200) this.output.shift();
        };
        child.stdout?.on("data", keep);
        child.stderr?.on("data", keep);
    }

    get pid(): number {
        if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (failed to spawn)`);
        return this.child.pid;
    }

    get running(): boolean {
        return this.exitCode === undefined;
    }

    signal(sig: NodeJS.Signals): void {
        if (this.running) process.kill(this.pid, sig);
    }

    /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
    async stop(graceMs = 3000): Promise<void> {
        if (!this.running) return;
        this.signal("SIGTERM");
        const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
        await this.exited;
        clearTimeout(timer);
    }

    /** SIGKILL, as a crash. */
    async kill(): Promise<void> {
        if (!this.running) return;
        this.signal("SIGKILL");
        await this.exited;
    }

    tail(): string {
        return this.output.join("").split("\n").slice(-15).join("\n");
    }
}

export function start(name: string, cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    const proc = new Proc(name, child);
    child.once("error", (e) => proc.output.push(`spawn error: ${e.message}`));
    return proc;
}

/** GET url on loopback; resolves with status and body, rejects on a connection error or timeout. */
export function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers, timeout: timeoutMs, agent: false }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs}ms`)));
        req.on("error", reject);
    });
}

/** Polls `probe` until it returns true; throws with `what` and the process output after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15000, proc?: Proc): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        if (proc !== undefined && !proc.running) throw new Error(`${proc.name} exited while waiting for ${what}:\n${proc.tail()}`);
        try {
            if (await probe()) return;
        } catch (e) {
            last = e instanceof Error ? e.message : String(e);
        }
        await sleep(100);
    }
    throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last === "" ? "" : ` (last error: ${last})`}` +
        (proc === undefined ? "" : `\n${proc.name} output:\n${proc.tail()}`));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Starts a server process on `port` and waits until `ready`. A free port can be taken between
 * choosing it and binding it (another test's client connection): then the server exits at once
 * saying so, and it is started again on a new free port (three attempts). Returns the process
 * and the port it listens on.
 */
export async function startOnPort(port: number, launch: (port: number) => Proc, ready: (proc: Proc, port: number) => Promise<void>): Promise<{ proc: Proc; port: number }> {
    for (let attempt = 1; ; attempt++) {
        const proc = launch(port);
        try {
            await ready(proc, port);
            return { proc, port };
        } catch (e) {
            if (!proc.running) await sleep(200); // its last stderr lines may come after the exit
            if (attempt >= 3 || proc.running || !/address already in use/.test(proc.tail())) throw e;
            port = await freePort();
        }
    }
}

/** A fresh temp dir for one scenario's configs, logs and data. */
export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `canary-it-${prefix}-`));
}
