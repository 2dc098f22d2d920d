// A fault-injecting HTTP reverse proxy for the fault suite (test/e2e/faults.test.ts): it
// listens on 127.0.0.1 and forwards every request to one upstream, untouched, unless a rule the
// test added matches it. Put in front of kube-apiserver (https upstream, authenticating as the
// kubeconfig's user with its CA, client certificate and key; clients then use a kubeconfig that
// points at the proxy with no credentials), Prometheus or the loadtester.
//
// A rule matches method, path (regex), optionally the query (regex, without "?") and the
// request body (regex; only a request whose method, path and query match is buffered to test
// it), and then acts:
//   answer  status, body and headers (a 409 Status, a 429 with Retry-After, a 500, a 202, NaN)
//   delay   wait `ms`, then forward (a slow upstream; not forwarded when the client gave up)
//   reset   the client's socket is reset (RST), no answer
// `skip` lets the first N matching requests through untouched, `times` expires the rule after
// N injections (default: until removed). Rules are tried in the order they were added; the
// first active one that matches acts. Every injection is recorded (`hits`: rule, time, method,
// path, query), so a test counts what it injected instead of what it meant to.
//
// `down()` stops listening and drops every open connection (clients get ECONNREFUSED), `up()`
// listens again on the same port. Unmatched requests, watches included, are streamed both ways
// as they arrive (no buffering, no timeouts). No protocol upgrades (exec, port-forward).
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as YAML from "yaml";

export interface RuleMatch {
    /** Exact method (case-insensitive) or a regex; default any. */
    readonly method?: string | RegExp;
    readonly path: RegExp;
    /** Tested against the query string without its "?" ("" when there is none). */
    readonly query?: RegExp;
    /** Tested against the whole request body (the request is buffered only when the rest matched). */
    readonly body?: RegExp;
}

export type FaultAction =
    | { readonly kind: "answer"; readonly status: number; readonly body?: string | (() => string); readonly headers?: Readonly<Record<string, string>> }
    | { readonly kind: "delay"; readonly ms: number }
    | { readonly kind: "reset" };

export interface FaultRule {
    /** Unique among the proxy's rules; hits are recorded under it. */
    readonly name: string;
    readonly match: RuleMatch;
    readonly action: FaultAction;
    /** Matching requests let through untouched before the first injection. Default 0. */
    readonly skip?: number;
    /** Injections before the rule expires. Default: until removed. */
    readonly times?: number;
}

/** One injection. */
export interface Hit {
    readonly proxy: string;
    readonly rule: string;
    readonly at: number;
    readonly method: string;
    readonly path: string;
    readonly query: string;
    readonly action: FaultAction["kind"];
}

/** TLS towards an https upstream: its CA, and the client certificate and key to present. */
export interface UpstreamTls {
    readonly ca?: string | Buffer;
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
}

export interface FaultProxyOptions {
    /** A name for hits and messages ("apiserver", "prometheus"). */
    readonly name: string;
    /** Base URL of the upstream, http or https (a path prefix is not supported). */
    readonly upstream: string;
    readonly tls?: UpstreamTls;
    /** Port to listen on; default a free one. */
    readonly port?: number;
}

interface ActiveRule {
    readonly rule: FaultRule;
    seen: number;
    injected: number;
}

// Hop-by-hop headers (RFC 9110 7.6.1): each side of the proxy sets its own.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
    const out: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    return out;
}

export class FaultProxy {
    readonly name: string;
    readonly hits: Hit[] = [];
    /** Requests forwarded to the upstream (skipped by rules, delayed or unmatched). */
    forwarded = 0;
    private readonly upstream: URL;
    private readonly agent: http.Agent;
    private readonly rules: ActiveRule[] = [];
    private readonly sockets = new Set<net.Socket>();
    private server: http.Server | undefined;
    private listeningPort = 0;

    private constructor(opts: FaultProxyOptions) {
        this.name = opts.name;
        this.upstream = new URL(opts.upstream);
        if (this.upstream.protocol !== "http:" && this.upstream.protocol !== "https:") throw new Error(`fault proxy ${opts.name}: upstream must be http or https, got ${opts.upstream}`);
        if (this.upstream.pathname !== "/" && this.upstream.pathname !== "") throw new Error(`fault proxy ${opts.name}: upstream ${opts.upstream} has a path`);
        this.agent = this.upstream.protocol === "https:"
            ? new https.Agent({ keepAlive: true, ca: opts.tls?.ca, cert: opts.tls?.cert, key: opts.tls?.key })
            : new http.Agent({ keepAlive: true });
        this.listeningPort = opts.port ?? 0;
    }

    static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
        const p = new FaultProxy(opts);
        await p.up();
        return p;
    }

    get port(): number {
        return this.listeningPort;
    }

    get url(): string {
        return `http://127.0.0.1:${this.listeningPort}`;
    }

    get isUp(): boolean {
        return this.server !== undefined;
    }

    /** Adds a rule; returns a function that removes it. */
    add(rule: FaultRule): () => void {
        if (this.rules.some((r) => r.rule.name === rule.name)) throw new Error(`fault proxy ${this.name}: a rule named ${rule.name} exists`);
        if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times > 0)) throw new Error(`fault proxy ${this.name}: rule ${rule.name}: times must be an integer > 0`);
        this.rules.push({ rule, seen: 0, injected: 0 });
        return () => this.remove(rule.name);
    }

    remove(name: string): void {
        const i = this.rules.findIndex((r) => r.rule.name === name);
        if (i >= 0) this.rules.splice(i, 1);
    }

    clear(): void {
        this.rules.splice(0, this.rules.length);
    }

    /** Names of the rules still active (not expired, not removed). */
    active(): string[] {
        return this.rules.filter((r) => !expired(r)).map((r) => r.rule.name);
    }

    hitsOf(rule: string): number {
        return this.hits.filter((h) => h.rule === rule).length;
    }

    /** Starts listening (again, on the same port once it had one). */
    async up(): Promise<void> {
        if (this.server !== undefined) return;
        const server = http.createServer((req, res) => this.handle(req, res));
        server.on("connection", (s: net.Socket) => {
            this.sockets.add(s);
            s.once("close", () => this.sockets.delete(s));
        });
        // no server-side timeouts: watches stay open as long as the client keeps them
        server.requestTimeout = 0;
        server.headersTimeout = 0;
        server.keepAliveTimeout = 5000;
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.listeningPort, "127.0.0.1", () => {
                server.off("error", reject);
                resolve();
            });
        });
        this.listeningPort = (server.address() as net.AddressInfo).port;
        this.server = server;
    }

    /** Stops listening and drops every open connection: new connections are refused until up(). */
    async down(): Promise<void> {
        const server = this.server;
        if (server === undefined) return;
        this.server = undefined;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of this.sockets) s.destroy();
        this.sockets.clear();
        await closed;
    }

    async stop(): Promise<void> {
        await this.down();
        this.agent.destroy();
    }

    /** The first active rule matching method, path and query (and whether one of them needs the body). */
    private candidates(method: string, path: string, query: string): ActiveRule[] {
        return this.rules.filter((r) => {
            if (expired(r)) return false;
            const m = r.rule.match;
            if (m.method !== undefined && (typeof m.method === "string" ? m.method.toUpperCase() !== method : !m.method.test(method))) return false;
            if (!m.path.test(path)) return false;
            return m.query === undefined || m.query.test(query);
        });
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const method = (req.method ?? "GET").toUpperCase();
        const raw = req.url ?? "/";
        const q = raw.indexOf("?");
        const path = q < 0 ? raw : raw.slice(0, q);
        const query = q < 0 ? "" : raw.slice(q + 1);
        const candidates = this.candidates(method, path, query);
        if (candidates.length === 0) {
            this.forward(req, res);
            return;
        }
        if (!candidates.some((r) => r.rule.match.body !== undefined)) {
            this.decide(candidates, "", { method, path, query }, req, res, undefined);
            return;
        }
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            this.decide(candidates, body.toString("utf8"), { method, path, query }, req, res, body);
        });
    }

    private decide(candidates: ActiveRule[], bodyText: string, r: { method: string; path: string; query: string }, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void {
        // rules are tried in order; one that lets this request through (skip) still counts it
        for (const c of candidates) {
            if (expired(c)) continue;
            if (c.rule.match.body !== undefined && !c.rule.match.body.test(bodyText)) continue;
            c.seen++;
            if (c.seen <= (c.rule.skip ?? 0)) break;
            c.injected++;
            this.hits.push({ proxy: this.name, rule: c.rule.name, at: Date.now(), ...r, action: c.rule.action.kind });
            this.act(c.rule.action, req, res, body);
            return;
        }
        this.forward(req, res, body);
    }

    private act(action: FaultAction, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void {
        switch (action.kind) {
            case "answer": {
                const text = typeof action.body === "function" ? action.body() : action.body ?? "";
                // the request body is read and dropped, so the connection stays usable
                req.resume();
                res.writeHead(action.status, { "content-type": "application/json", ...action.headers, "content-length": Buffer.byteLength(text) });
                res.end(text);
                return;
            }
            case "delay": {
                let gone = false;
                res.once("close", () => (gone = true));
                // buffer the body meanwhile (a paused stream would hold it anyway)
                const chunks: Buffer[] = body === undefined ? [] : [body];
                if (body === undefined) req.on("data", (c: Buffer) => chunks.push(c));
                setTimeout(() => {
                    if (gone) return; // the client gave up: nothing to forward to
                    this.forward(req, res, Buffer.concat(chunks));
                }, action.ms);
                return;
            }
            case "reset":
                req.socket.resetAndDestroy();
                return;
            default: {
                const never: never = action;
                throw new Error(`unknown action ${JSON.stringify(never)}`);
            }
        }
    }

    /** Streams the request to the upstream and its answer back; `body` when it was already read. */
    private forward(req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): void {
        this.forwarded++;
        const headers = endToEnd(req.headers);
        headers.host = this.upstream.host;
        if (body !== undefined) {
            delete headers["content-length"];
            headers["content-length"] = body.length;
        }
        const mod = this.upstream.protocol === "https:" ? https : http;
        const up = mod.request({
            protocol: this.upstream.protocol, hostname: this.upstream.hostname, port: this.upstream.port,
            method: req.method, path: req.url, headers, agent: this.agent,
        }, (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.headers));
            res.flushHeaders();
            upRes.pipe(res);
            upRes.on("error", () => res.destroy());
        });
        up.on("error", (e) => {
            if (!res.headersSent) {
                res.writeHead(502, { "content-type": "text/plain" });
                res.end(`fault proxy ${this.name}: upstream ${this.upstream.host}: ${e.message}`);
            } else {
                res.destroy();
            }
        });
        // the client went away (a watch closed, a timeout): so does the upstream request
        res.once("close", () => {
            if (!res.writableFinished) up.destroy();
        });
        if (body !== undefined) up.end(body);
        else req.pipe(up);
    }
}

function expired(r: ActiveRule): boolean {
    return r.rule.times !== undefined && r.injected >= r.rule.times;
}

interface KubeconfigDoc {
    clusters?: { name: string; cluster: Record<string, unknown> }[];
    users?: { name: string; user: Record<string, unknown> }[];
    contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
    "current-context"?: string;
}

const b64 = (s: unknown): Buffer | undefined => (typeof s === "string" ? Buffer.from(s, "base64") : undefined);

/**
 * The upstream of a proxy in front of the kubeconfig's current cluster: its server URL and the
 * TLS material to reach it as the current user (embedded *-data fields only, as the e2e
 * cluster's kubeconfig has them).
 */
export function kubeconfigUpstream(kubeconfig: string): { upstream: string; tls: UpstreamTls } {
    const doc = YAML.parse(kubeconfig) as KubeconfigDoc;
    const ctx = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
    const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
    const user = doc.users?.find((u) => u.name === ctx?.user)?.user;
    if (ctx === undefined || cluster === undefined || user === undefined) throw new Error("kubeconfig: no current context with a cluster and a user");
    for (const k of ["token", "client-certificate", "client-key", "exec", "auth-provider"]) {
        if (user[k] !== undefined) throw new Error(`kubeconfig: user field ${k} is not supported by the fault proxy (embedded client-certificate-data/client-key-data only)`);
    }
    return {
        upstream: String(cluster.server),
        tls: { ca: b64(cluster["certificate-authority-data"]), cert: b64(user["client-certificate-data"]), key: b64(user["client-key-data"]) },
    };
}

/**
 * The same kubeconfig (same cluster, user and context names) with the current cluster's server
 * replaced by `proxyUrl` (plain http) and no credentials: the proxy authenticates upstream.
 * `insecure-skip-tls-verify` is set because @kubernetes/client-node refuses an http server
 * without it ("HTTP protocol is not allowed when skipTLSVerify is not set"); there is no TLS.
 */
export function proxiedKubeconfig(kubeconfig: string, proxyUrl: string): string {
    const doc = YAML.parse(kubeconfig) as KubeconfigDoc;
    const ctx = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
    if (ctx === undefined) throw new Error("kubeconfig: no current context");
    return YAML.stringify({
        ...doc,
        clusters: (doc.clusters ?? []).filter((c) => c.name === ctx.cluster).map((c) => ({ name: c.name, cluster: { server: proxyUrl, "insecure-skip-tls-verify": true } })),
        users: (doc.users ?? []).filter((u) => u.name === ctx.user).map((u) => ({ name: u.name, user: {} })),
        contexts: (doc.contexts ?? []).filter((c) => c.name === doc["current-context"]),
    });
}
