// What a change of each input of CanaryRelease and CanaryFinalize does, one row per input,
// for release.test.ts scenario (10) ("gating is total"): a change either runs an analysis of
// the new template before the primary takes it, or keeps the primary's template. Never
// "replace and promote": a replaced release would initialize again and hand its template to the
// primary without analysis.
//
// Each input maps to the row that changes it through stack config, alone, in a real
// `pulumi up` (or `pulumi preview`, where the change is a new app or needs a mesh the e2e
// cluster does not run) and to what the row must show. `satisfies Record<keyof ...>` makes the
// table total: a new input that is not in it does not compile.
import { FinalizeInputs, ReleaseInputs } from "../../components/canary/provider/types";

/** What a change must do. */
export type Effect =
    /** No release: the primary's template, the Deployment object and the traffic stay; the input is stored. */
    | "kept"
    /** A release: the new template is analysed step by step before the primary takes it. */
    | "analysed"
    /** A new app (name or namespace): the preview warns; the old app's objects go. */
    | "new app"
    /** The traffic moves to the new routing objects; the same app, never replaced (and analysed when the template changed too). */
    | "moved";

export interface InputRow {
    readonly effect: Effect;
    /** Where it runs: a row of scenario (10) by id, or another scenario that asserts it. */
    readonly by: string;
    /** The stack config that changes it, or why none changes it alone. */
    readonly how: string;
}

const row = (effect: Effect, by: string, how: string): InputRow => ({ effect, by, how });

export const RELEASE_INPUT_ROWS = {
    target: row("new app", "(10) appName", "canary:appName or canary:namespace (namespace: scenario (9))"),
    template: row("analysed", "(2)", "canary:image (every template change goes with a new revision)"),
    revision: row("analysed", "(2)", "canary:image"),
    configMaps: row("analysed", "(12)", "canary:appConfig (the data of podinfo's ConfigMap alone: its checksum is in the template and the revision)"),
    secrets: row("analysed", "(12)", "canary:appSecrets (a secret; the data of podinfo's Secret alone)"),
    analysis: row("kept", "(10) analysis", "canary:analysis (threshold 2 -> 3)"),
    routing: row("moved", "(9), (10) routing", "canary:routing nginx -> istio (9, up) and nginx -> linkerd (10, preview)"),
    linkerdRoute: row("moved", "unit: diffRelease", "canary:linkerdRoute, read only with canary:routing linkerd, whose CRDs the e2e cluster has not: the same ROUTING_PROPERTIES path as routing"),
    ingressName: row("moved", "(10) appName", "none alone: it is the app's name, so it changes only with canary:appName (a new app)"),
    metricsServer: row("kept", "(10) metricsServer", "canary:metricsServer (the same Prometheus as http://localhost:PORT)"),
    kubeconfig: row("kept", "(10) kubeconfig", "canary:kubeconfig (the same cluster, with one more context)"),
    kubeContext: row("kept", "(10) kubeContext", "canary:kubeContext (that other context, same cluster and user)"),
    canaryReplicas: row("kept", "(10) replicas", "canary:replicas 2 -> 3 (the primary's replicas follow; its template does not change)"),
    retry: row("kept", "(10) retry", "canary:retry true"),
    alerts: row("kept", "(10) alerts", "canary:alertProviders (a secret) and analysis.alerts naming one; (11) runs releases with it"),
    pushgateway: row("kept", "(10) pushgateway", "canary:pushgateway (the same Pushgateway as http://localhost:PORT)"),
} as const satisfies Record<keyof ReleaseInputs, InputRow>;

export const FINALIZE_INPUT_ROWS = {
    target: RELEASE_INPUT_ROWS.target,
    revision: row("analysed", "(2)", "the release's promotedRevision: changes only once an analysis passed"),
    phase: row("analysed", "(2), (3)", "the release's phase: Promoting after an analysis, Failed after a rollback"),
    routing: RELEASE_INPUT_ROWS.routing,
    linkerdRoute: RELEASE_INPUT_ROWS.linkerdRoute,
    ingressName: RELEASE_INPUT_ROWS.ingressName,
    analysis: RELEASE_INPUT_ROWS.analysis,
    kubeconfig: RELEASE_INPUT_ROWS.kubeconfig,
    kubeContext: RELEASE_INPUT_ROWS.kubeContext,
    readyTimeoutSeconds: row("kept", "unit: diffFinalize", "none: a CanaryApp argument (default 300), not stack config"),
    alerts: RELEASE_INPUT_ROWS.alerts,
    pushgateway: RELEASE_INPUT_ROWS.pushgateway,
} as const satisfies Record<keyof FinalizeInputs, InputRow>;
