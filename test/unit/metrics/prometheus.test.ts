import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { PrometheusProvider } from "../../../components/canary/metrics/prometheus";
import { QueryResult } from "../../../components/canary/metrics/provider";

// A real HTTP server on loopback standing in for Prometheus' API; each test sets the answer.
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

describe("metrics/prometheus", () => {
    let server: http.Server;
    let base: string;
    let handler: Handler;
    const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            seen.push({ url: req.url ?? "", headers: req.headers });
            handler(req, res);
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
        server.closeAllConnections();
        server.close();
    });
    beforeEach(() => {
        seen.length = 0;
    });

    const json = (status: number, body: unknown): Handler => (_req, res) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
    };
    const vector = (...values: string[]) => json(200, {
        status: "success",
        data: { resultType: "vector", result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [1700000000.1, v] })) },
    });
    const failure = (r: QueryResult) => {
        assert.strictEqual(r.ok, false, JSON.stringify(r));
        return r as Extract<QueryResult, { ok: false }>;
    };

    it("GETs /api/v1/query with the trimmed query and returns the one sample", async () => {
        handler = vector("99.5");
        const r = await new PrometheusProvider({ baseURL: `${base}/prom/` }).query("  sum(up{job=\"a b\"})\n");
        assert.deepStrictEqual(r, { ok: true, value: 99.5 });
        const u = new URL(seen[0].url, base);
        assert.strictEqual(u.pathname, "/prom/api/v1/query");
        assert.strictEqual(u.searchParams.get("query"), 'sum(up{job="a b"})');
    });

    it("accepts a scalar result", async () => {
        handler = json(200, { status: "success", data: { resultType: "scalar", result: [1700000000, "1"] } });
        assert.deepStrictEqual(await new PrometheusProvider({ baseURL: base }).query("vector(1) == 1"), { ok: true, value: 1 });
    });

    it("an empty vector is no data, never a value", async () => {
        handler = vector();
        const r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
        assert.strictEqual(r.reason, "no-data");
        assert.strictEqual(r.message, "query returned an empty vector (is the canary receiving traffic?)");
    });

    it("more than one series is a query error listing them", async () => {
        handler = vector("1", "2");
        const r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
        assert.strictEqual(r.reason, "query-error");
        assert.match(r.message, /returned 2 series, expected exactly one .*\{pod="p0"\}, \{pod="p1"\}/);
    });

    for (const v of ["NaN", "+Inf", "-Inf"]) {
        it(`${v} is nan`, async () => {
            handler = vector(v);
            const r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
            assert.strictEqual(r.reason, "nan");
            assert.match(r.message, v === "NaN" ? /returned NaN/ : new RegExp(`returned \\${v}`));
        });
    }

    it("Prometheus' error body is a query error carrying its text, whatever the status", async () => {
        handler = json(400, { status: "error", errorType: "bad_data", error: "1:5: parse error: unexpected \"}\"" });
        const r = failure(await new PrometheusProvider({ baseURL: base }).query("sum(}"));
        assert.strictEqual(r.reason, "query-error");
        assert.strictEqual(r.message, 'Prometheus rejected the query (HTTP 400, bad_data): 1:5: parse error: unexpected "}"');

        handler = json(422, { status: "error", errorType: "execution", error: "many-to-many matching not allowed" });
        assert.match(failure(await new PrometheusProvider({ baseURL: base }).query("a / b")).message,
            /HTTP 422, execution\): many-to-many matching not allowed/);
    });

    it("Prometheus' own query timeout is a timeout", async () => {
        handler = json(503, { status: "error", errorType: "timeout", error: "query timed out in expression evaluation" });
        const r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
        assert.strictEqual(r.reason, "timeout");
        assert.match(r.message, /query timed out in expression evaluation/);
    });

    it("a 5xx without Prometheus' body: 503 from a proxy is unreachable, 500 is a query error", async () => {
        handler = (_q, res) => {
            res.writeHead(503);
            res.end("no endpoints available for service \"prometheus\"");
        };
        let r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
        assert.strictEqual(r.reason, "unreachable");
        assert.match(r.message, /HTTP 503 from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: no endpoints available/);

        handler = (_q, res) => {
            res.writeHead(403);
            res.end("forbidden: User \"system:anonymous\" cannot get services/proxy");
        };
        r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
        assert.strictEqual(r.reason, "query-error");
        assert.match(r.message, /HTTP 403 .*cannot get services\/proxy/);
    });

    it("a 200 that is not Prometheus' JSON is a query error", async () => {
        handler = (_q, res) => {
            res.writeHead(200, { "Content-Type": "text/html" });
            res.end("<html>login</html>");
        };
        const r = failure(await new PrometheusProvider({ baseURL: base }).query("x"));
        assert.strictEqual(r.reason, "query-error");
        assert.match(r.message, /not its JSON API .*<html>login<\/html>/);
    });

    it("a range vector is a query error", async () => {
        handler = json(200, { status: "success", data: { resultType: "matrix", result: [] } });
        assert.match(failure(await new PrometheusProvider({ baseURL: base }).query("x[1m]")).message, /matrix result, expected an instant vector/);
    });

    it("a slow server is a timeout after timeoutMs", async () => {
        handler = (_q, res) => setTimeout(() => vector("1")(_q, res), 1000);
        const t0 = Date.now();
        const r = failure(await new PrometheusProvider({ baseURL: base, timeoutMs: 150 }).query("x"));
        assert.strictEqual(r.reason, "timeout");
        assert.match(r.message, /did not answer within 150ms/);
        assert.ok(Date.now() - t0 < 900, "returned before the server answered");
    });

    it("a refused connection is unreachable, naming the URL", async () => {
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const port = (closed.address() as AddressInfo).port;
        await new Promise((r) => closed.close(r));
        const r = failure(await new PrometheusProvider({ baseURL: `http://127.0.0.1:${port}` }).query("x"));
        assert.strictEqual(r.reason, "unreachable");
        assert.strictEqual(r.message.startsWith(`Prometheus at http://127.0.0.1:${port}/api/v1/query is unreachable (ECONNREFUSED`), true, r.message);
    });

    it("an unknown host is unreachable", async () => {
        const r = failure(await new PrometheusProvider({ baseURL: "http://prometheus.invalid:9090", timeoutMs: 3000 }).query("x"));
        assert.strictEqual(r.reason, "unreachable");
        assert.match(r.message, /prometheus\.invalid.*(ENOTFOUND|EAI_AGAIN)/);
    });

    it("sends bearer token, basic auth and extra headers; masks URL credentials in messages", async () => {
        handler = vector("1");
        await new PrometheusProvider({ baseURL: base, bearerToken: "tok", headers: { "X-Scope-OrgID": "t1" } }).query("x");
        assert.strictEqual(seen[0].headers.authorization, "Bearer tok");
        assert.strictEqual(seen[0].headers["x-scope-orgid"], "t1");
        await new PrometheusProvider({ baseURL: base, basicAuth: { username: "u", password: "p" } }).query("x");
        assert.strictEqual(seen[1].headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);

        handler = (_q, res) => {
            res.writeHead(500);
            res.end("boom");
        };
        const r = failure(await new PrometheusProvider({ baseURL: base.replace("http://", "http://admin:secret@") }).query("x"));
        assert.ok(!r.message.includes("secret"), r.message);
        assert.match(r.message, /http:\/\/\*\*\*@127\.0\.0\.1/);
    });

    it("rejects bad options, naming them", () => {
        assert.throws(() => new PrometheusProvider({ baseURL: "prometheus:9090" }), /must be http or https/);
        assert.throws(() => new PrometheusProvider({ baseURL: "not a url" }), /is not a valid URL/);
        assert.throws(() => new PrometheusProvider({ baseURL: base, timeoutMs: 0 }), /timeoutMs must be a positive number/);
        assert.throws(() => new PrometheusProvider({ baseURL: base, bearerToken: "t", basicAuth: { username: "u", password: "p" } }),
            /bearerToken and basicAuth are both set/);
    });
});
