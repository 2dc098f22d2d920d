// A podinfo-like test app: one process per version (primary v1, canary v2), on its own port.
//
//   node -r ts-node/register/transpile-only server.ts --port 0 --version 2.0.0 \
//        [--error-rate 0.1] [--latency-ms 300] [--healthz-status 503]
//
// GET /          podinfo-like JSON {hostname, version, message}
// GET /healthz   liveness (status from --healthz-status; acceptance tests hit it)
// GET /readyz    readiness (always 200 once listening)
// GET /metrics   Prometheus text: requests by path and status, latency histogram
// POST /admin/faults {"errorRate":0.1,"latencyMs":300}  changes fault injection at run time
// GET /admin/faults  the current faults and request counters
//
// Errors are deterministic: with error rate r, exactly round(n*r) of n requests to / answer
// 500 (an accumulator, not a coin flip), so "10% 5xx" is 10% in any window of ten requests.
// The listening port is printed as the first stdout line: `listening <port>`.
import * as http from "http";
import * as os from "os";

interface Faults {
    errorRate: number;
    latencyMs: number;
    healthzStatus: number;
}

function arg(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const version = arg("version", "1.0.0");
const faults: Faults = {
    errorRate: Number(arg("error-rate", process.env.APP_ERROR_RATE ?? "0")),
    latencyMs: Number(arg("latency-ms", process.env.APP_LATENCY_MS ?? "0")),
    healthzStatus: Number(arg("healthz-status", "200")),
};

const counts = new Map<string, number>(); // `${path} ${status}` -> n
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const latency = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
let errorDebt = 0;

function count(path: string, status: number): void {
    const k = `${path} ${status}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
}

function observe(seconds: number): void {
    BUCKETS.forEach((le, i) => { if (seconds <= le) latency.buckets[i]++; });
    latency.sum += seconds;
    latency.count++;
}

function metrics(): string {
    const lines = [
        "# HELP http_requests_total Requests served, by path and status.",
        "# TYPE http_requests_total counter",
    ];
    for (const [k, n] of counts) {
        const [p, status] = k.split(" ");
        lines.push(`http_requests_total{version="${version}",path="${p}",status="${status}"} ${n}`);
    }
    lines.push("# HELP http_request_duration_seconds Latency of /.", "# TYPE http_request_duration_seconds histogram");
    BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{version="${version}",le="${le}"} ${latency.buckets[i]}`));
    lines.push(`http_request_duration_seconds_bucket{version="${version}",le="+Inf"} ${latency.count}`);
    lines.push(`http_request_duration_seconds_sum{version="${version}"} ${latency.sum}`);
    lines.push(`http_request_duration_seconds_count{version="${version}"} ${latency.count}`);
    return lines.join("\n") + "\n";
}

function send(res: http.ServerResponse, path: string, status: number, body: unknown, type = "application/json"): void {
    count(path, status);
    res.writeHead(status, { "content-type": type, "x-app-version": version });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const p = url.pathname;
    if (p === "/healthz") return send(res, p, faults.healthzStatus, { status: faults.healthzStatus === 200 ? "OK" : "failing" });
    if (p === "/readyz") return send(res, p, 200, { status: "OK" });
    if (p === "/metrics") return send(res, p, 200, metrics(), "text/plain; version=0.0.4");
    if (p === "/admin/faults") {
        if (req.method === "POST") {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                const f = JSON.parse(body === "" ? "{}" : body) as Partial<Faults>;
                if (f.errorRate !== undefined) faults.errorRate = f.errorRate;
                if (f.latencyMs !== undefined) faults.latencyMs = f.latencyMs;
                if (f.healthzStatus !== undefined) faults.healthzStatus = f.healthzStatus;
                send(res, p, 200, faults);
            });
            return;
        }
        return send(res, p, 200, { ...faults, requests: Object.fromEntries(counts) });
    }
    if (p !== "/") return send(res, p, 404, { error: "not found" });

    const started = process.hrtime.bigint();
    errorDebt += faults.errorRate;
    const fail = errorDebt >= 1 - 1e-9;
    if (fail) errorDebt -= 1;
    const reply = () => {
        observe(Number(process.hrtime.bigint() - started) / 1e9);
        if (fail) return send(res, p, 500, { error: "injected fault", version });
        send(res, p, 200, { hostname: os.hostname(), version, message: `greetings from podinfo v${version}`, pid: process.pid });
    };
    if (faults.latencyMs > 0) setTimeout(reply, faults.latencyMs);
    else reply();
});

server.keepAliveTimeout = 30000;
server.listen(Number(arg("port", "0")), "127.0.0.1", () => {
    const addr = server.address() as { port: number };
    process.stdout.write(`listening ${addr.port}\n`);
});
process.on("SIGTERM", () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
});
