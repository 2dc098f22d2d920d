// Where a check's query runs, through the real seams: a builtin at the release's metricsServer, a
// metric template's at its own server with its bearer token. Two local HTTP servers answer as
// Prometheus' /api/v1/query does and record what reached them.
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { MetricCheck } from "../../../components/canary/engine/types";
import { errorRatioReader, metricChecker, seamsFor } from "../../../components/canary/provider/seams";
import { kubeconfig } from "../kube/kubeconfig";

interface Seen { readonly query: string; readonly authorization?: string }

async function fakePrometheus(value: number): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
    const seen: Seen[] = [];
    const server = http.createServer((req, res) => {
        const query = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
        seen.push({ query, ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }) });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [0, String(value)] }] } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe("provider/seams: metric template sources", () => {
    const target = { name: "podinfo", namespace: "test" };
    const builtin: MetricCheck = { name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m", templateVariables: {} };
    const templated = (url: string, bearerToken?: string): MetricCheck => ({
        name: "latency-p99", query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{ target }}"}[{{ interval }}])))',
        thresholdRange: { max: 500 }, interval: "30s", templateVariables: {}, templateRef: "p99",
        source: { server: { url }, ...(bearerToken === undefined ? {} : { bearerToken }) },
    });

    it("a builtin queries the release's server; a template's check its own, with its token, rendered for the canary", async () => {
        const main = await fakePrometheus(100);
        const own = await fakePrometheus(42);
        try {
            const s = seamsFor({ target, routing: "nginx", ingressName: "podinfo", metricsServer: { url: main.url }, kubeconfig: kubeconfig("https://127.0.0.1:1") });
            const check = metricChecker(s, "nginx", target, "podinfo");
            assert.equal((await check(builtin)).pass, true);
            const r = await check(templated(own.url, "tok-abc"));
            assert.equal(r.pass, true, r.message);
            assert.equal(main.seen.length, 1);
            assert.equal(main.seen[0].authorization, undefined);
            assert.deepEqual(own.seen, [{ query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="podinfo-canary"}[30s])))', authorization: "Bearer tok-abc" }]);
            // a value out of bounds fails naming the metric and its value
            const failed = await check({ ...templated(own.url), thresholdRange: { max: 10 } });
            assert.equal(failed.pass, false);
            assert.match(failed.message ?? "", /latency-p99.*42/);
            assert.equal(own.seen[1].authorization, undefined);
        } finally {
            await Promise.all([main.close(), own.close()]);
        }
    });

    it("seams without per-source providers (a fake) fail such a check, naming the template, and never query the release's server", async () => {
        let queried = 0;
        const check = metricChecker({ metrics: { query: async () => (queried++, { ok: true, value: 1 }) } }, "nginx", target, "podinfo");
        const r = await check(templated("http://127.0.0.1:9"));
        assert.deepEqual([r.pass, queried], [false, 0]);
        assert.match(r.message ?? "", /no provider for the server of template "p99"/);
    });

    it("the error budget reads the canary's error ratio from the builtin success rate at the release's server, over the budget's interval", async () => {
        const main = await fakePrometheus(99.5);
        try {
            const s = seamsFor({ target, routing: "nginx", ingressName: "podinfo", metricsServer: { url: main.url }, kubeconfig: kubeconfig("https://127.0.0.1:1") });
            const r = await errorRatioReader(s, "nginx", target, "podinfo")({ slo: 99.9, windowSeconds: 86400, maxBurnRate: 10, interval: "45s" });
            assert.ok(r.ok);
            assert.ok(Math.abs(r.errorRatio - 0.005) < 1e-12, String(r.errorRatio));
            assert.equal(main.seen.length, 1);
            assert.match(main.seen[0].query, /ingress="podinfo", canary!=""/, "the canary's requests only");
            assert.match(main.seen[0].query, /\[45s\]/);
        } finally {
            await main.close();
        }
    });

    it("no error ratio from an unreachable server is a reason, never a ratio of 0", async () => {
        const s = seamsFor({ target, routing: "nginx", ingressName: "podinfo", metricsServer: { url: "http://127.0.0.1:9" }, kubeconfig: kubeconfig("https://127.0.0.1:1") });
        const r = await errorRatioReader(s, "nginx", target, "podinfo")({ slo: 99.9, windowSeconds: 86400, maxBurnRate: 10, interval: "1m" });
        assert.equal(r.ok, false);
        assert.match(r.ok ? "" : r.message, /^Prometheus unreachable for the canary's success rate/);
    });
});
