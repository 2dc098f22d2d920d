import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MetricCheck, Target } from "../../../components/canary/engine/types";
import {
    BUILTIN_DESCRIPTIONS, BUILTIN_METRICS, BUILTIN_QUERIES, builtinQuery, checkTemplate, MESH_PROVIDERS, MeshProvider,
    renderCheck,
} from "../../../components/canary/metrics/templates";

const target: Target = { name: "podinfo", namespace: "test" };
const check = (over: Partial<MetricCheck>): MetricCheck => ({
    name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m",
    templateVariables: {}, ...over,
});
const sr = check({});
const dur = check({ name: "request-duration", builtin: "request-duration", thresholdRange: { max: 500 } });

// The exact PromQL each builtin renders to for podinfo.test, interval 1m.
const EXPECTED: Record<MeshProvider, Record<"sr" | "dur", string>> = {
    nginx: {
        sr: '(sum(rate(nginx_ingress_controller_requests{namespace="test", ingress="podinfo", canary!="", status!~"5.."}[1m])) or vector(0))' +
            ' / (sum(rate(nginx_ingress_controller_requests{namespace="test", ingress="podinfo", canary!=""}[1m])) > 0) * 100',
        dur: '(histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{namespace="test", ingress="podinfo", canary!=""}[1m]))) * 1000)' +
            ' and on() (sum(rate(nginx_ingress_controller_request_duration_seconds_bucket{namespace="test", ingress="podinfo", canary!="", le="+Inf"}[1m])) > 0)',
    },
    linkerd: {
        sr: '(sum(rate(response_total{namespace="test", deployment="podinfo-canary", direction="inbound", classification!="failure"}[1m])) or vector(0))' +
            ' / (sum(rate(response_total{namespace="test", deployment="podinfo-canary", direction="inbound"}[1m])) > 0) * 100',
        dur: '(histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{namespace="test", deployment="podinfo-canary", direction="inbound"}[1m]))))' +
            ' and on() (sum(rate(response_latency_ms_bucket{namespace="test", deployment="podinfo-canary", direction="inbound", le="+Inf"}[1m])) > 0)',
    },
    istio: {
        sr: '(sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="test", destination_workload="podinfo-canary", response_code!~"5.."}[1m])) or vector(0))' +
            ' / (sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="test", destination_workload="podinfo-canary"}[1m])) > 0) * 100',
        dur: '(histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace="test", destination_workload="podinfo-canary"}[1m]))))' +
            ' and on() (sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace="test", destination_workload="podinfo-canary", le="+Inf"}[1m])) > 0)',
    },
};

describe("metrics/templates", () => {
    for (const p of MESH_PROVIDERS) {
        it(`${p}: renders the exact builtin PromQL`, () => {
            assert.strictEqual(renderCheck(sr, p, target, "podinfo"), EXPECTED[p].sr);
            assert.strictEqual(renderCheck(dur, p, target, "podinfo"), EXPECTED[p].dur);
        });
        it(`${p}: has a description for every builtin`, () => {
            for (const m of BUILTIN_METRICS) {
                assert.ok(BUILTIN_DESCRIPTIONS[p][m].length > 40, `${p} ${m}`);
            }
        });
    }

    it("nginx builtins need the ingress; the mesh builtins do not", () => {
        assert.throws(() => renderCheck(sr, "nginx", target), /metric "request-success-rate": .*\{\{ ingress \}\}" has no value/);
        assert.strictEqual(renderCheck(sr, "linkerd", target), EXPECTED.linkerd.sr);
    });

    it("renders a custom query with variables and the check's interval", () => {
        const custom = check({
            name: "error-ratio", builtin: undefined, interval: "30s", templateVariables: { route: "/api" },
            query: 'sum(rate(http_errors{ns="{{ namespace }}", deploy="{{ target }}", route="{{ variables.route }}"}[{{ interval }}]))',
        });
        assert.strictEqual(renderCheck(custom, "linkerd", target),
            'sum(rate(http_errors{ns="test", deploy="podinfo-canary", route="/api"}[30s]))');
    });

    it("a custom query's template errors name the check", () => {
        const custom = check({ name: "error-ratio", builtin: undefined, query: "{{ variables.missing }}" });
        assert.throws(() => renderCheck(custom, "istio", target), /^Error: metric "error-ratio": template variable "variables.missing" is not defined/);
    });

    it("exactly one of builtin and query", () => {
        assert.throws(() => checkTemplate(check({ query: "vector(1)" }), "istio"), /builtin "request-success-rate" and query are both set/);
        assert.throws(() => checkTemplate(check({ builtin: undefined }), "istio"), /neither builtin nor query is set/);
    });

    it("an unknown provider or builtin is an error, not a fallback", () => {
        assert.throws(() => builtinQuery("appmesh" as MeshProvider, "request-duration"), /unknown metrics provider "appmesh"/);
        assert.throws(() => builtinQuery("istio", "request-count" as never), /unknown builtin metric "request-count"/);
    });

    it("every builtin keeps the same placeholders", () => {
        for (const p of MESH_PROVIDERS) {
            for (const m of BUILTIN_METRICS) {
                assert.match(BUILTIN_QUERIES[p][m], /\[\{\{ interval \}\}\]/);
            }
        }
    });
});

// Prometheus' own engine (promtool test rules) evaluates the builtins over synthetic series
// with each provider's real metric names and labels: 90% success, a P99 of 500 ms, a canary
// without requests (no data, never 100%), a canary answering only 5xx (0%, not no data).
describe("metrics/templates under promtool (Prometheus' PromQL engine)", function () {
    this.timeout(30000);

    const promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => fs.existsSync(p));

    // Labels of the canary's series, of series that must be ignored, and the status label.
    const SERIES: Record<MeshProvider, { canary: string; other: string; ok: string; bad: string; reqs: string; bucket: string; scale: number }> = {
        nginx: {
            canary: 'namespace="test", ingress="podinfo", canary="test-podinfo-canary-9898"',
            other: 'namespace="test", ingress="podinfo"',
            ok: 'status="200"', bad: 'status="503"',
            reqs: "nginx_ingress_controller_requests", bucket: "nginx_ingress_controller_request_duration_seconds_bucket", scale: 1000,
        },
        linkerd: {
            canary: 'namespace="test", deployment="podinfo-canary", direction="inbound"',
            other: 'namespace="test", deployment="podinfo-primary", direction="inbound"',
            ok: 'classification="success"', bad: 'classification="failure"',
            reqs: "response_total", bucket: "response_latency_ms_bucket", scale: 1,
        },
        istio: {
            canary: 'reporter="destination", destination_workload_namespace="test", destination_workload="podinfo-canary"',
            other: 'reporter="destination", destination_workload_namespace="test", destination_workload="podinfo-primary"',
            ok: 'response_code="200"', bad: 'response_code="500"',
            reqs: "istio_requests_total", bucket: "istio_request_duration_milliseconds_bucket", scale: 1,
        },
    };

    const q = (p: MeshProvider, builtin: "request-success-rate" | "request-duration") =>
        renderCheck(check({ name: builtin, builtin }), p, target, "podinfo");

    function testFile(p: MeshProvider): string {
        const s = SERIES[p];
        const le = (v: number) => (s.scale === 1000 ? String(v / 1000) : String(v));
        const yamlStr = (x: string) => JSON.stringify(x);
        const series = (labels: string, values: string) => `      - series: ${yamlStr(`${labels}`)}\n        values: ${yamlStr(values)}`;
        // rounded to 0.01: the engine's float arithmetic gives 89.99999999999999
        const expr = (e: string, value?: number) => `      - expr: ${yamlStr(`round(${e}, 0.01)`)}\n        eval_time: 5m\n        exp_samples:` +
            (value === undefined ? " []" : `\n          - labels: "{}"\n            value: ${value}`);
        const test = (inputs: string[], exprs: string[]) =>
            `  - interval: 15s\n    input_series:\n${inputs.join("\n")}\n    promql_expr_test:\n${exprs.join("\n")}`;
        return [
            "rule_files: []",
            "evaluation_interval: 1m",
            "tests:",
            // 90% success on the canary; the primary's errors must not count.
            test([
                series(`${s.reqs}{${s.canary}, ${s.ok}}`, "0+90x20"),
                series(`${s.reqs}{${s.canary}, ${s.bad}}`, "0+10x20"),
                series(`${s.reqs}{${s.other}, ${s.bad}}`, "0+500x20"),
                series(`${s.bucket}{${s.canary}, le="${le(100)}"}`, "0+80x20"),
                series(`${s.bucket}{${s.canary}, le="${le(500)}"}`, "0+99x20"),
                series(`${s.bucket}{${s.canary}, le="${le(1000)}"}`, "0+100x20"),
                series(`${s.bucket}{${s.canary}, le="+Inf"}`, "0+100x20"),
                series(`${s.bucket}{${s.other}, le="+Inf"}`, "0+100x20"),
            ], [expr(q(p, "request-success-rate"), 90), expr(q(p, "request-duration"), 500)]),
            // series exist but no request in the window: no data for both
            test([
                series(`${s.reqs}{${s.canary}, ${s.ok}}`, "5x20"),
                series(`${s.bucket}{${s.canary}, le="${le(100)}"}`, "5x20"),
                series(`${s.bucket}{${s.canary}, le="+Inf"}`, "5x20"),
                series(`${s.reqs}{${s.other}, ${s.ok}}`, "0+100x20"),
            ], [expr(q(p, "request-success-rate")), expr(q(p, "request-duration"))]),
            // no canary series at all: no data
            test([series(`${s.reqs}{${s.other}, ${s.ok}}`, "0+100x20")], [expr(q(p, "request-success-rate")), expr(q(p, "request-duration"))]),
            // only errors: 0%, not no data
            test([series(`${s.reqs}{${s.canary}, ${s.bad}}`, "0+10x20")], [expr(q(p, "request-success-rate"), 0)]),
            "",
        ].join("\n");
    }

    for (const p of MESH_PROVIDERS) {
        it(`${p}: 90% success, P99 500ms, no data without requests, 0% when all fail`, () => {
            assert.ok(promtool, "promtool not found: install the Debian package prometheus (scripts/test-all.sh does)");
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promtool-"));
            const file = path.join(dir, `${p}.yaml`);
            fs.writeFileSync(file, testFile(p));
            try {
                execFileSync(promtool as string, ["test", "rules", file], { encoding: "utf8", stdio: "pipe" });
            } catch (err) {
                const e = err as { stdout?: string; stderr?: string };
                assert.fail(`promtool test rules failed for ${p}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }
});
