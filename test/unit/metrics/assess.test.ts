import * as assert from "assert";
import { MetricCheck, Target } from "../../../components/canary/engine/types";
import { assess, describeRange, goDuration } from "../../../components/canary/metrics/assess";
import { QueryResult } from "../../../components/canary/metrics/provider";

const target: Target = { name: "podinfo", namespace: "test" };
const base = { interval: "1m", templateVariables: {} };
const sr = (min?: number, max?: number): MetricCheck =>
    ({ ...base, name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min, max } });
const dur = (min?: number, max?: number): MetricCheck =>
    ({ ...base, name: "request-duration", builtin: "request-duration", thresholdRange: { min, max } });
const custom = (min?: number, max?: number): MetricCheck =>
    ({ ...base, name: "error-ratio", query: "vector(1)", thresholdRange: { min, max } });
const value = (v: number): QueryResult => ({ ok: true, value: v });
const failed = (reason: "no-data" | "nan" | "query-error" | "timeout" | "unreachable", message: string): QueryResult =>
    ({ ok: false, reason, message });

describe("metrics/assess", () => {
    const table: [string, MetricCheck, QueryResult, boolean, string][] = [
        // Flagger's halt wording, value and threshold in each message
        ["success rate below min", sr(99), value(91.6), false, "Halt podinfo.test advancement success rate 91.60% < 99%"],
        ["success rate above max", sr(undefined, 99.5), value(99.9), false, "Halt podinfo.test advancement success rate 99.90% > 99.5%"],
        ["success rate at min passes (inclusive)", sr(99), value(99), true, "podinfo.test success rate 99.00% >= 99%"],
        ["success rate 100 passes", sr(99), value(100), true, "podinfo.test success rate 100.00% >= 99%"],
        ["duration above max", dur(undefined, 500), value(1200), false, "Halt podinfo.test advancement request duration 1.2s > 500ms"],
        ["duration below min", dur(10), value(2.5), false, "Halt podinfo.test advancement request duration 2.5ms < 10ms"],
        ["duration at max passes", dur(undefined, 500), value(500), true, "podinfo.test request duration 500ms <= 500ms"],
        ["sub-millisecond duration", dur(undefined, 500), value(0.95), true, "podinfo.test request duration 950µs <= 500ms"],
        ["duration in minutes", dur(undefined, 60000), value(90000), false, "Halt podinfo.test advancement request duration 1m30s > 1m0s"],
        ["custom above max", custom(undefined, 10), value(12.3), false, "Halt podinfo.test advancement error-ratio 12.30 > 10"],
        ["custom below min", custom(1), value(0.5), false, "Halt podinfo.test advancement error-ratio 0.50 < 1"],
        ["custom within range", custom(1, 10), value(5), true, "podinfo.test error-ratio 5.00 within [1, 10]"],
        ["custom zero with max 0 passes", custom(undefined, 0), value(0), true, "podinfo.test error-ratio 0.00 <= 0"],
        // both bounds: each side is checked, each bound is inclusive
        ["success rate below a range", sr(99, 100), value(98.5), false, "Halt podinfo.test advancement success rate 98.50% < 99%"],
        ["custom above a range", custom(1, 10), value(10.01), false, "Halt podinfo.test advancement error-ratio 10.01 > 10"],
        ["custom at both ends of a range", custom(1, 1), value(1), true, "podinfo.test error-ratio 1.00 within [1, 1]"],
        ["duration within a range", dur(10, 500), value(10), true, "podinfo.test request duration 10ms within [10ms, 500ms]"],
        ["negative custom value", custom(-1), value(-2), false, "Halt podinfo.test advancement error-ratio -2.00 < -1"],
        // never a pass without a number
        ["no data", sr(99), failed("no-data", "query returned an empty vector (is the canary receiving traffic?)"), false,
            'Halt podinfo.test advancement no values found for metric "request-success-rate" (threshold >= 99%): ' +
            "query returned an empty vector (is the canary receiving traffic?)"],
        ["NaN", dur(undefined, 500), failed("nan", "query returned NaN (0/0: no requests in the window?)"), false,
            'Halt podinfo.test advancement value is not a number for metric "request-duration" (threshold <= 500ms): ' +
            "query returned NaN (0/0: no requests in the window?)"],
        ["query error", custom(undefined, 10), failed("query-error", "Prometheus rejected the query (HTTP 400, bad_data): parse error"), false,
            'Halt podinfo.test advancement query failed for metric "error-ratio" (threshold <= 10): ' +
            "Prometheus rejected the query (HTTP 400, bad_data): parse error"],
        ["timeout", sr(99), failed("timeout", "Prometheus at http://p/api/v1/query did not answer within 5000ms"), false,
            'Halt podinfo.test advancement query timed out for metric "request-success-rate" (threshold >= 99%): ' +
            "Prometheus at http://p/api/v1/query did not answer within 5000ms"],
        ["unreachable", sr(99, 100), failed("unreachable", "Prometheus at http://p/api/v1/query is unreachable (ECONNREFUSED: x)"), false,
            'Halt podinfo.test advancement Prometheus unreachable for metric "request-success-rate" (threshold within [99%, 100%]): ' +
            "Prometheus at http://p/api/v1/query is unreachable (ECONNREFUSED: x)"],
        // a check without bounds would pass anything
        ["no threshold", custom(), value(1), false, 'Halt podinfo.test advancement metric "error-ratio" has no thresholdRange (min or max)'],
    ];
    for (const [name, check, result, pass, message] of table) {
        it(name, () => {
            assert.deepStrictEqual(assess(check, result, target), { pass, message });
        });
    }

    it("formats durations as Go does", () => {
        const cases: [number, string][] = [
            [0, "0s"], [0.001, "1µs"], [0.5, "500µs"], [1, "1ms"], [1.5, "1.5ms"], [999, "999ms"], [1000, "1s"],
            [1200, "1.2s"], [61000, "1m1s"], [3600000, "1h0m0s"], [3723500, "1h2m3.5s"], [-5, "-5ms"],
            // rounded to the microsecond; the sign on every unit
            [0.0004, "0s"], [0.0006, "1µs"], [0.999, "999µs"], [999.9994, "999.999ms"], [-0.5, "-500µs"], [-1500, "-1.5s"], [-61000, "-1m1s"],
            [120000, "2m0s"], [7200000, "2h0m0s"], [3600500, "1h0m0.5s"], [59000, "59s"],
        ];
        for (const [ms, s] of cases) {
            assert.strictEqual(goDuration(ms), s, String(ms));
        }
    });

    it("describes a range as the condition that passes", () => {
        assert.strictEqual(describeRange(custom()), "(no threshold)");
        assert.strictEqual(describeRange(sr(99.5)), ">= 99.5%");
        assert.strictEqual(describeRange(dur(undefined, 1500)), "<= 1.5s");
        assert.strictEqual(describeRange(custom(0, 0.25)), "within [0, 0.25]");
    });
});
