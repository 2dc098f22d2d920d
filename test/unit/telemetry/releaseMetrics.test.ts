// The release's state as Prometheus series, and the alert rules over them.
import * as assert from "assert";
import { ReleaseState } from "../../../components/canary/engine/types";
import { releaseAlertRules } from "../../../components/canary/telemetry/alertRules";
import { groupPath, releaseMetricsText, statusValue } from "../../../components/canary/telemetry/releaseMetrics";

const state = (over: Partial<ReleaseState> = {}): ReleaseState => ({
    phase: "Progressing", revision: "rev2", promotedRevision: "rev1", failedRevision: "", canaryWeight: 20, step: 2, failedChecks: 1, budgetSpent: 0.25,
    rolloutConfirmed: true, preRolloutDone: true, startedAt: 1_000_000, lastTransitionAt: 1_030_000, message: "x",
    ...over,
});

const sample = (text: string, series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("release metrics (text exposition for the Pushgateway)", () => {
    it("a running release: status 0, its phase, both weights, failed checks, budget, time since start, last transition", () => {
        const t = releaseMetricsText(state(), 1_045_500);
        assert.strictEqual(sample(t, "canary_release_status"), 0);
        assert.strictEqual(sample(t, 'canary_release_phase{phase="Progressing"}'), 1);
        assert.strictEqual(sample(t, 'canary_release_phase{phase="Failed"}'), 0);
        assert.strictEqual(sample(t, 'canary_release_weight{role="primary"}'), 80);
        assert.strictEqual(sample(t, 'canary_release_weight{role="canary"}'), 20);
        assert.strictEqual(sample(t, "canary_release_failed_checks"), 1);
        assert.strictEqual(sample(t, "canary_release_error_budget_spent_percent"), 0.25);
        assert.strictEqual(sample(t, "canary_release_duration_seconds"), 45.5);
        assert.strictEqual(sample(t, "canary_release_last_transition_timestamp_seconds"), 1030);
        assert.strictEqual(sample(t, 'canary_release_info{revision="rev2",promoted_revision="rev1"}'), 1);
    });

    it("an ended release's duration is its length, not the time since", () => {
        const t = releaseMetricsText(state({ phase: "Failed", canaryWeight: 0, lastTransitionAt: 1_060_000 }), 9_999_999);
        assert.strictEqual(sample(t, "canary_release_status"), 2);
        assert.strictEqual(sample(t, "canary_release_duration_seconds"), 60);
        assert.strictEqual(sample(t, 'canary_release_weight{role="canary"}'), 0);
    });

    it("every family has HELP and TYPE gauge, and the text ends with a newline", () => {
        const t = releaseMetricsText(state(), 1_045_500);
        const families = [...new Set(t.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0]))];
        assert.strictEqual(families.length, 8);
        for (const f of families) assert.ok(t.includes(`# HELP ${f} `) && t.includes(`# TYPE ${f} gauge\n`), f);
        assert.ok(t.endsWith("\n"));
    });

    it("label values are escaped; state written before error budgets counts 0 spent", () => {
        const t = releaseMetricsText(state({ revision: 'a"b\\c', budgetSpent: undefined }), 1_045_500);
        assert.ok(t.includes('canary_release_info{revision="a\\"b\\\\c",promoted_revision="rev1"} 1'), t);
        assert.strictEqual(sample(t, "canary_release_error_budget_spent_percent"), 0);
    });

    it("Flagger's status encoding: results 1 and 2, everything else running", () => {
        assert.deepStrictEqual(
            (["Initializing", "Initialized", "Progressing", "WaitingPromotion", "Promoting", "Finalising", "Succeeded", "Failed"] as const).map(statusValue),
            [0, 1, 0, 0, 0, 0, 1, 2],
        );
    });

    it("one Pushgateway group per app, by namespace and name", () => {
        assert.strictEqual(groupPath({ name: "podinfo", namespace: "test" }), "/metrics/job/pulumi-canary/namespace/test/app/podinfo");
    });
});

describe("release alert rules", () => {
    it("CanaryFailed on status 2, CanaryStuck on a running release without transition for stuckAfter", () => {
        const rules = (releaseAlertRules({ stuckAfter: "90s" }).groups[0] as { rules: { alert: string; expr: string }[] }).rules;
        assert.deepStrictEqual(rules.map((r) => [r.alert, r.expr]), [
            ["CanaryFailed", "canary_release_status == 2"],
            ["CanaryStuck", "canary_release_status == 0 and (time() - canary_release_last_transition_timestamp_seconds) > 90"],
        ]);
    });

    it("refuses a stuckAfter that is no single-unit duration, naming it", () => {
        assert.throws(() => releaseAlertRules({ stuckAfter: "1h30m" }), /stuckAfter: must be a Prometheus duration of one unit such as 15m, 90s or 1h, got "1h30m"/);
    });
});
