// The Grafana dashboard of canary releases: primary vs canary success rate and P99 latency
// (the builtin queries of the stack's routing, for each side), the canary weight, status,
// failed checks and error budget from the release metrics, and each phase change as an
// annotation. Grafana variables $namespace and $app pick the release.
import { render } from "../metrics/render";
import { BuiltinMetric, MeshProvider, Side, sideQuery } from "../metrics/templates";

export const DASHBOARD_UID = "canary-releases";
/** The provisioned Prometheus datasource the panels query. */
export const DATASOURCE = { type: "prometheus", uid: "prometheus" } as const;

const SEL = 'namespace="$namespace", app="$app"';

/** A builtin query of one side with the dashboard's variables in place of the release's values. */
function sideExpr(routing: MeshProvider, metric: BuiltinMetric, side: Side): string {
    return render(sideQuery(routing, metric, side), {
        namespace: "$namespace", target: `$app-${side}`, service: "$app", ingress: "$app", interval: "1m", variables: {},
    });
}

interface Target { readonly refId: string; readonly expr: string; readonly legendFormat: string }
/** The parts of Grafana's dashboard JSON the checks read; the rest is Grafana's own schema. */
export interface Panel extends Record<string, unknown> { readonly id: number; readonly title: string; readonly targets: readonly Target[] }
export interface Dashboard extends Record<string, unknown> {
    readonly uid: string;
    readonly panels: readonly Panel[];
    readonly annotations: { readonly list: ReadonlyArray<{ readonly expr?: string } & Record<string, unknown>> };
}

type Grid = { x: number; y: number; w: number; h: number };

function panel(id: number, title: string, type: "timeseries" | "stat", targets: Target[], gridPos: Grid, extra: Record<string, unknown> = {}): Panel {
    return { id, type, title, datasource: DATASOURCE, gridPos, targets: targets.map((t) => ({ ...t, datasource: DATASOURCE })), ...extra };
}

const unit = (u: string, more: Record<string, unknown> = {}) => ({ fieldConfig: { defaults: { unit: u, ...more }, overrides: [] } });

/** A dashboard query as Grafana sends it for one release: its variables substituted. */
export function withVariables(expr: string, namespace: string, app: string): string {
    return expr.replace(/\$namespace/g, namespace).replace(/\$app/g, app);
}

/** Every query of the dashboard (panels and annotations), for checks. */
export function dashboardQueries(dashboard: Dashboard): string[] {
    return [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.annotations.list.flatMap((a) => (a.expr === undefined ? [] : [a.expr]))];
}

export function releaseDashboard(routing: MeshProvider): Dashboard {
    const sides = (metric: BuiltinMetric): Target[] => (["primary", "canary"] as const).map((side, i) => ({ refId: "AB"[i], expr: sideExpr(routing, metric, side), legendFormat: side }));
    const panels = [
        panel(1, "Success rate: primary vs canary", "timeseries", sides("request-success-rate"), { x: 0, y: 0, w: 12, h: 8 }, unit("percent", { min: 0, max: 100 })),
        panel(2, "P99 latency: primary vs canary", "timeseries", sides("request-duration"), { x: 12, y: 0, w: 12, h: 8 }, unit("ms")),
        panel(3, "Traffic weight", "timeseries", [{ refId: "A", expr: `canary_release_weight{${SEL}}`, legendFormat: "{{role}}" }], { x: 0, y: 8, w: 12, h: 8 }, unit("percent", { min: 0, max: 100 })),
        panel(4, "Release status", "stat", [{ refId: "A", expr: `canary_release_status{${SEL}}`, legendFormat: "status" }], { x: 12, y: 8, w: 4, h: 4 }, {
            fieldConfig: {
                defaults: {
                    mappings: [{ type: "value", options: { 0: { text: "running", color: "blue" }, 1: { text: "succeeded", color: "green" }, 2: { text: "failed", color: "red" } } }],
                },
                overrides: [],
            },
        }),
        panel(5, "Failed checks", "stat", [{ refId: "A", expr: `canary_release_failed_checks{${SEL}}`, legendFormat: "failed checks" }], { x: 16, y: 8, w: 4, h: 4 }),
        panel(6, "Error budget spent", "stat", [{ refId: "A", expr: `canary_release_error_budget_spent_percent{${SEL}}`, legendFormat: "spent" }], { x: 20, y: 8, w: 4, h: 4 }, unit("percent")),
        panel(7, "Release duration", "stat", [{ refId: "A", expr: `canary_release_duration_seconds{${SEL}}`, legendFormat: "duration" }], { x: 12, y: 12, w: 12, h: 4 }, unit("s")),
    ];
    return {
        uid: DASHBOARD_UID,
        title: "Canary releases",
        tags: ["canary", "pulumi"],
        schemaVersion: 39,
        time: { from: "now-1h", to: "now" },
        refresh: "10s",
        templating: {
            list: [
                { name: "namespace", type: "query", datasource: DATASOURCE, query: "label_values(canary_release_status, namespace)", refresh: 2 },
                { name: "app", type: "query", datasource: DATASOURCE, query: 'label_values(canary_release_status{namespace="$namespace"}, app)', refresh: 2 },
            ],
        },
        annotations: {
            list: [{
                // a phase series that just turned 1: the release entered that phase
                name: "Release phases", datasource: DATASOURCE, enable: true, iconColor: "orange",
                expr: `(canary_release_phase{${SEL}} == 1) and (changes(canary_release_phase{${SEL}}[30s]) > 0)`,
                titleFormat: "{{phase}}", textFormat: "{{app}}.{{namespace}} {{phase}}", step: "5s",
            }],
        },
        panels,
    };
}
