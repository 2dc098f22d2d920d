// Release metrics and their alert rules against a real Pushgateway and a real Prometheus: the
// provider's PushingStatusStore pushes each saved state; Prometheus scrapes the Pushgateway (as
// the stack's does, honor_labels) and evaluates the rules the Prometheus component ships,
// checked first by `promtool check rules`. Each rule is made to fire, and to resolve.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ReleaseState, Target } from "../../components/canary/engine/types";
import { ReleaseStore } from "../../components/canary/engine/scheduler";
import { MESH_PROVIDERS } from "../../components/canary/metrics/templates";
import { releaseAlertRules } from "../../components/canary/telemetry/alertRules";
import { dashboardQueries, releaseDashboard, withVariables } from "../../components/canary/telemetry/dashboard";
import { releaseMetricsText } from "../../components/canary/telemetry/releaseMetrics";
import { PushgatewayClient, PushingStatusStore } from "../../components/canary/telemetry/pushgateway";
import { RULES_FILE } from "../../components/prometheus";
import { PrometheusServer } from "./harness/prometheus";
import { PushgatewayServer } from "./harness/pushgateway";
import { requireBinary, tempDir, waitFor } from "./harness/process";

const target: Target = { name: "podinfo", namespace: "it" };
const clock = { now: () => Date.now() };

class MemoryStore implements ReleaseStore {
    readonly saved: ReleaseState[] = [];
    async save(_t: Target, s: ReleaseState): Promise<void> {
        this.saved.push(s);
    }
    async load(): Promise<ReleaseState | undefined> {
        return this.saved.at(-1);
    }
    async remove(): Promise<void> {
        this.saved.length = 0;
    }
}

function state(over: Partial<ReleaseState>): ReleaseState {
    const now = Date.now();
    return {
        phase: "Progressing", revision: "rev2", promotedRevision: "rev1", failedRevision: "", canaryWeight: 20, step: 1, failedChecks: 0, budgetSpent: 0,
        rolloutConfirmed: true, preRolloutDone: true, startedAt: now - 5000, lastTransitionAt: now, message: "",
        ...over,
    };
}

describe("release metrics: Pushgateway, Prometheus and the alert rules (real servers)", function () {
    this.timeout(120_000);
    const dir = tempDir("release-metrics");
    const ruleFile = path.join(dir, RULES_FILE);
    let pg: PushgatewayServer;
    let prom: PrometheusServer;
    let lines: string[];
    let store: PushingStatusStore;

    /** The firing alerts of the rules, by name (Prometheus' own ALERTS series). */
    const firing = async () => (await prom.query('ALERTS{alertstate="firing"}')).map((r) => `${r.metric.alertname} ${r.metric.app}.${r.metric.namespace}`).sort();
    const value = async (q: string) => (await prom.query(q)).map((r) => Number(r.value[1]));

    before(async function () {
        // the rules exactly as the Prometheus component writes them, CanaryStuck after 3 s
        fs.writeFileSync(ruleFile, YAML.stringify(releaseAlertRules({ stuckAfter: "3s" })));
        pg = await PushgatewayServer.start();
        prom = await PrometheusServer.create(dir);
        await prom.start([], { pushgateway: pg.target, ruleFile });
        lines = [];
        store = new PushingStatusStore(new MemoryStore(), new PushgatewayClient(async () => ({ baseURL: pg.url }), clock), clock, (l) => lines.push(l), pg.url);
    });

    after(async function () {
        await Promise.allSettled([prom?.stop(), pg?.stop()]);
        if (process.env.KEEP_IT_DIRS === undefined) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("promtool accepts the shipped rules (and the stack's default ones)", () => {
        const promtool = requireBinary("promtool", ["/usr/bin/promtool"], "apt-get install -y prometheus");
        const defaults = path.join(dir, "default-rules.yml");
        fs.writeFileSync(defaults, YAML.stringify(releaseAlertRules()));
        for (const f of [ruleFile, defaults]) {
            const r = spawnSync(promtool, ["check", "rules", f], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, `promtool check rules ${f}:\n${r.stdout}${r.stderr}`);
            assert.match(r.stdout, /SUCCESS: 2 rules found/);
        }
    });

    it("promtool parses every query of the Grafana dashboard, for each routing", () => {
        const promtool = requireBinary("promtool", ["/usr/bin/promtool"], "apt-get install -y prometheus");
        for (const routing of MESH_PROVIDERS) {
            const queries = dashboardQueries(releaseDashboard(routing)).map((q) => withVariables(q, "it", "podinfo"));
            assert.ok(queries.length >= 9, `${routing}: ${queries.length} queries`);
            // each query as a recording rule: promtool parses its expression
            const file = path.join(dir, `dashboard-${routing}.yml`);
            fs.writeFileSync(file, YAML.stringify({ groups: [{ name: "dashboard", rules: queries.map((expr, i) => ({ record: `dashboard:query${i}`, expr })) }] }));
            const r = spawnSync(promtool, ["check", "rules", file], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${routing}: promtool check rules:\n${r.stdout}${r.stderr}`);
        }
    });

    it("promtool lints the pushed exposition text", () => {
        const promtool = requireBinary("promtool", ["/usr/bin/promtool"], "apt-get install -y prometheus");
        const r = spawnSync(promtool, ["check", "metrics"], { input: releaseMetricsText(state({}), Date.now()), encoding: "utf8" });
        assert.strictEqual(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
    });

    it("a saved state is readable in Prometheus, labelled with the app and namespace: status, weights, failed checks, budget", async () => {
        await store.save(target, state({ canaryWeight: 20, failedChecks: 1, budgetSpent: 0.125 }));
        const sel = '{app="podinfo",namespace="it"}';
        await waitFor("the pushed state in Prometheus", async () => (await value(`canary_release_failed_checks${sel}`))[0] === 1, 15000);
        assert.deepStrictEqual(await value(`canary_release_status${sel}`), [0]);
        assert.deepStrictEqual(await value(`canary_release_weight{app="podinfo",namespace="it",role="canary"}`), [20]);
        assert.deepStrictEqual(await value(`canary_release_weight{app="podinfo",namespace="it",role="primary"}`), [80]);
        assert.deepStrictEqual(await value(`canary_release_error_budget_spent_percent${sel}`), [0.125]);
        assert.deepStrictEqual(await value(`canary_release_phase{app="podinfo",namespace="it",phase="Progressing"}`), [1]);
        assert.deepStrictEqual((await prom.query(`canary_release_info${sel}`)).map((r) => [r.metric.revision, r.metric.promoted_revision]), [["rev2", "rev1"]]);
        assert.deepStrictEqual(await firing(), [], "a release that moves is neither stuck nor failed");
    });

    it("CanaryStuck fires for a running release that stopped changing, and resolves once it moves", async () => {
        await store.save(target, state({ lastTransitionAt: Date.now() - 60_000 }));
        await waitFor("CanaryStuck to fire", async () => (await firing()).includes("CanaryStuck podinfo.it"), 20000);
        await store.save(target, state({ lastTransitionAt: Date.now() }));
        await waitFor("CanaryStuck to resolve", async () => !(await firing()).includes("CanaryStuck podinfo.it"), 20000);
    });

    it("CanaryFailed fires for a rolled-back release, with its summary; a later success resolves it", async () => {
        await store.save(target, state({ phase: "Failed", canaryWeight: 0, failedRevision: "rev2", failedChecks: 2 }));
        await waitFor("CanaryFailed to fire", async () => (await firing()).includes("CanaryFailed podinfo.it"), 20000);
        const alerts = JSON.parse((await (await fetch(`${prom.url}/api/v1/alerts`)).text())) as { data: { alerts: { labels: Record<string, string>; annotations: Record<string, string> }[] } };
        const failed = alerts.data.alerts.find((a) => a.labels.alertname === "CanaryFailed");
        assert.strictEqual(failed?.annotations.summary, "Canary release of podinfo.it failed");
        assert.strictEqual(failed?.labels.severity, "warning");
        assert.ok(!(await firing()).includes("CanaryStuck podinfo.it"), "a failed release is not stuck");
        await store.save(target, state({ phase: "Succeeded", canaryWeight: 0, revision: "rev3", promotedRevision: "rev3", lastTransitionAt: Date.now() }));
        await waitFor("CanaryFailed to resolve", async () => (await firing()).length === 0, 20000);
    });

    it("removing the release removes its group; a push that fails is one line and never fails the save", async () => {
        await store.remove(target);
        assert.ok(!(await pg.metrics()).includes('app="podinfo"'), "the group is still on the Pushgateway");
        let pushes = 0;
        const unreachable = new PushgatewayClient(async () => ({ baseURL: "http://127.0.0.1:9" }), clock);
        const counting = { push: (t: Target, st: ReleaseState) => (pushes++, unreachable.push(t, st)), remove: (t: Target) => unreachable.remove(t) };
        const broken = new PushingStatusStore(new MemoryStore(), counting, clock, (l) => lines.push(l), "http://127.0.0.1:9");
        const before = lines.length;
        await broken.save(target, state({}));
        await broken.save(target, state({}));
        assert.deepStrictEqual(lines.slice(before), ["! release metrics: push to http://127.0.0.1:9 failed (the release goes on; later failures are not repeated): ECONNREFUSED"]);
        // backing off: the running step's push is skipped, the result is still tried
        assert.strictEqual(pushes, 1);
        await broken.save(target, state({ phase: "Failed" }));
        assert.strictEqual(pushes, 2);
    });
});
