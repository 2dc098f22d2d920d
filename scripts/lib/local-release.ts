// The stack config the e2e tier, the demo and the bench give the project on the local simulated
// cluster: the offline chart folder, Prometheus and the loadtester of the host data plane
// (test/e2e/dataplane), and a Flagger-style analysis shrunk to a seconds-long clock. Written as
// a user writes Pulumi.<stack>.yaml: canary:* keys, durations as "2s", webhooks with metadata.
import * as path from "path";
import * as YAML from "yaml";
import { repoRoot } from "./pulumi-env";

export const APP = "podinfo";
export const PODINFO = "ghcr.io/stefanprodan/podinfo";
export const image = (tag: string) => `${PODINFO}:${tag}`;
/**
 * What each podinfo image tag does on the host data plane's test app: the good tags answer
 * every request, 6.5.5 answers 10% 500s (drawn at random, seeded) and 6.5.9 is 700 ms slow.
 */
export const IMAGES = {
    "6.5.3": {}, "6.5.4": {}, "6.5.6": {}, "6.5.7": {}, "6.5.8": {},
    "6.5.5": { errorRate: 0.1 },
    "6.5.9": { latencyMs: 700 },
    "6.6.0": {},
    "6.6.1": { errorRate: 0.08 },
};

/** The offline charts beside the repo (../shared/charts). */
export const CHARTS = path.resolve(repoRoot, "..", "shared", "charts");

export interface LocalAnalysisOptions {
    /** The data plane's loadtester (webhook URL base). */
    readonly loadtesterUrl: string;
    /** The app's namespace: the acceptance test calls <app>-canary.<namespace>. */
    readonly namespace: string;
    readonly intervalSeconds: number;
    readonly stepWeight: number;
    readonly maxWeight: number;
    /** Default 2: the second failed check rolls back. */
    readonly threshold?: number;
    /** Seconds of load `hey` sends through the ingress at each step. Default 2. */
    readonly loadSeconds?: number;
    /**
     * "blocking" (default): the load runs to completion inside each step's rollout hook, so each
     * step's checks see that step's traffic (and the step lasts loadSeconds longer).
     * "background": Flagger's default, the loadtester answers 202 and runs one `hey` of
     * loadSeconds at a time, which the steps share (steps keep the interval's length).
     */
    readonly load?: "blocking" | "background";
}

/**
 * canary:analysis for a short real clock: success rate >= 99% and P99 <= 500 ms over 10 s
 * windows, Flagger's acceptance test against the canary before any traffic moves, and a
 * blocking load test through the ingress at each step (so each step's checks see its traffic).
 */
export function localAnalysis(o: LocalAnalysisOptions): Record<string, unknown> {
    const load = o.loadSeconds ?? 2;
    return {
        interval: `${o.intervalSeconds}s`,
        threshold: o.threshold ?? 2,
        maxWeight: o.maxWeight,
        stepWeight: o.stepWeight,
        progressDeadlineSeconds: 60,
        metrics: [
            { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "10s" },
            { name: "request-duration", thresholdRange: { max: 500 }, interval: "10s" },
        ],
        webhooks: [
            {
                name: "acceptance-test", type: "pre-rollout", url: `${o.loadtesterUrl}/`, timeout: "10s",
                metadata: { type: "bash", cmd: `curl -sd 'test' http://${APP}-canary.${o.namespace}:9898/token | grep token` },
            },
            {
                name: "load-test", type: "rollout", url: `${o.loadtesterUrl}/`, timeout: `${load + 10}s`,
                metadata: {
                    cmd: `hey -z ${load}s -q 25 -c 2 -host app.example.com http://ingress-nginx-controller.ingress-nginx/`,
                    ...(o.load === "background" ? {} : { blocking: "true" }),
                },
            },
        ],
    };
}

/** The kubeconfig's current context: what a user sets as canary:kubeContext. */
export function currentContext(kubeconfig: string): string {
    const ctx = (YAML.parse(kubeconfig) as { "current-context"?: string })["current-context"];
    if (ctx === undefined || ctx === "") throw new Error("the kubeconfig has no current-context");
    return ctx;
}

/** The settings that point the project at the local cluster and the data plane. */
export function localStackConfig(o: { kubeContext: string; prometheusUrl: string; namespace: string; pushgatewayUrl?: string }): Record<string, unknown> {
    return {
        "canary:kubeContext": o.kubeContext,
        "canary:ingressNginxCharts": CHARTS,
        "canary:metricsServer": o.prometheusUrl,
        // the stack's own Pushgateway is a Service nothing serves under kwok
        "canary:pushgateway": o.pushgatewayUrl ?? "none",
        "canary:namespace": o.namespace,
    };
}
