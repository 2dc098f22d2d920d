// The Grafana dashboard and its provisioning files (pure: what the Grafana component mounts).
import * as assert from "assert";
import * as YAML from "yaml";
import { dashboardQueries, releaseDashboard, withVariables } from "../../../components/canary/telemetry/dashboard";
import { grafanaProvisioning } from "../../../components/grafana";

describe("Grafana dashboard of canary releases", () => {
    const d = releaseDashboard("nginx");
    const titles = (d.panels as unknown as { title: string }[]).map((p) => p.title);

    it("panels: primary vs canary success rate and latency, weight, status, failed checks, budget, duration", () => {
        assert.deepStrictEqual(titles, [
            "Success rate: primary vs canary", "P99 latency: primary vs canary", "Traffic weight",
            "Release status", "Failed checks", "Error budget spent", "Release duration",
        ]);
        assert.strictEqual(d.uid, "canary-releases");
        const ids = (d.panels as unknown as { id: number }[]).map((p) => p.id);
        assert.strictEqual(new Set(ids).size, ids.length, "panel ids are unique");
    });

    it("the success-rate panel runs the routing's builtin query for each side: NGINX splits by the canary label", () => {
        const [primary, canary] = d.panels[0].targets;
        assert.match(primary.expr, /nginx_ingress_controller_requests\{namespace="\$namespace", ingress="\$app", canary=""/);
        assert.match(canary.expr, /nginx_ingress_controller_requests\{namespace="\$namespace", ingress="\$app", canary!=""/);
        assert.deepStrictEqual([primary.legendFormat, canary.legendFormat], ["primary", "canary"]);
    });

    it("meshes split by workload: <app>-primary vs <app>-canary", () => {
        const [primary, canary] = releaseDashboard("linkerd").panels[0].targets;
        assert.match(primary.expr, /response_total\{namespace="\$namespace", deployment="\$app-primary", direction="inbound"/);
        assert.match(canary.expr, /deployment="\$app-canary"/);
        const [ip, ic] = releaseDashboard("istio").panels[1].targets;
        assert.match(ip.expr, /istio_request_duration_milliseconds_bucket\{reporter="destination", destination_workload_namespace="\$namespace", destination_workload="\$app-primary"/);
        assert.match(ic.expr, /destination_workload="\$app-canary"/);
    });

    it("release phases are annotations: a phase series that just turned 1, titled with the phase", () => {
        const [a] = d.annotations.list as unknown as { expr: string; titleFormat: string }[];
        assert.match(a.expr, /canary_release_phase\{namespace="\$namespace", app="\$app"\} == 1/);
        assert.strictEqual(a.titleFormat, "{{phase}}");
    });

    it("every query, variables substituted, names the release and no variable is left", () => {
        const qs = dashboardQueries(d).map((q) => withVariables(q, "test", "podinfo"));
        assert.strictEqual(qs.length, 10);
        for (const q of qs) {
            assert.ok(!q.includes("$"), q);
            assert.ok(q.includes('namespace="test"'), q);
        }
    });

    it("provisioning: the datasource the panels name, a file provider, the dashboard JSON", () => {
        const files = grafanaProvisioning("nginx", "http://prometheus.monitoring:9090");
        const ds = YAML.parse(files.datasources["prometheus.yaml"]) as { datasources: { uid: string; url: string; type: string }[] };
        assert.deepStrictEqual(ds.datasources.map((x) => [x.uid, x.type, x.url]), [["prometheus", "prometheus", "http://prometheus.monitoring:9090"]]);
        const provider = YAML.parse(files.dashboards["provider.yaml"]) as { providers: { options: { path: string } }[] };
        assert.strictEqual(provider.providers[0].options.path, "/var/lib/grafana/dashboards");
        assert.deepStrictEqual(JSON.parse(files.dashboards["canary-releases.json"]), JSON.parse(JSON.stringify(d)));
        for (const p of d.panels as unknown as { datasource: { uid: string } }[]) assert.strictEqual(p.datasource.uid, "prometheus");
    });
});
