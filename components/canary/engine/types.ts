// Types shared by the pure engine and the seams. No Pulumi, no I/O here.

/** Release phases, as in Flagger's CanaryPhase (pkg/apis/flagger/v1beta1/status.go). */
export type Phase =
    | "Initializing"     // first deployment: primary gets the template without analysis
    | "Initialized"      // idle, primary serves 100%
    | "Progressing"      // canary up, analysis running, weight shifting
    | "WaitingPromotion" // analysis done, waiting on confirm-promotion hooks
    | "Promoting"        // analysed template handed to the primary
    | "Finalising"       // primary ready: routes back to primary, canary scaled to 0
    | "Succeeded"
    | "Failed";

export type HookType =
    | "confirm-rollout"
    | "pre-rollout"
    | "rollout"
    | "confirm-traffic-increase"
    | "confirm-promotion"
    | "post-rollout"
    | "rollback"
    | "event";

export const HOOK_TYPES: readonly HookType[] = [
    "confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase",
    "confirm-promotion", "post-rollout", "rollback", "event",
];

export interface Webhook {
    readonly name: string;
    readonly type: HookType;
    readonly url: string;
    /** Per attempt. */
    readonly timeoutSeconds: number;
    /** Extra attempts after the first failed one. */
    readonly retries: number;
    readonly metadata: Readonly<Record<string, string>>;
}

/** Inclusive bounds; a missing bound is open. */
export interface ThresholdRange {
    readonly min?: number;
    readonly max?: number;
}

/** Where Prometheus answers: a URL, or a Service reached through the API server's service proxy. */
export type MetricsServer =
    | { readonly url: string }
    | { readonly service: string; readonly namespace: string; readonly port: number };

/** Where a metric template's query runs (Flagger's MetricTemplate provider). */
export interface MetricSource {
    readonly server: MetricsServer;
    /** Sent as `Authorization: Bearer …`; a secret, never shown. */
    readonly bearerToken?: string;
}

export interface MetricCheck {
    readonly name: string;
    /** "request-success-rate", "request-duration", or a PromQL template (custom metric). */
    readonly builtin?: "request-success-rate" | "request-duration";
    readonly query?: string;
    readonly thresholdRange: ThresholdRange;
    /** Range of the PromQL window, e.g. "1m". */
    readonly interval: string;
    readonly templateVariables: Readonly<Record<string, string>>;
    /** The metric template the query came from (`templateRef.name`), for messages. */
    readonly templateRef?: string;
    /** Where the query runs; undefined: the release's metricsServer. */
    readonly source?: MetricSource;
}

/** A/B match, as in Flagger's HTTPMatchRequest subset NGINX supports. */
export interface MatchCondition {
    readonly headers?: Readonly<Record<string, { readonly exact?: string; readonly regex?: string }>>;
    readonly cookie?: string;
}

/**
 * The Helm walkthrough's static split: the canary takes a fixed share of traffic for a soak
 * time, analysed every interval, then is promoted or rolled back. No weight ladder.
 */
export interface StaticSplit {
    /** The canary's share of traffic, in percent (1..100). */
    readonly weight: number;
    /** How long the canary holds that share under analysis before it may be promoted. */
    readonly soakSeconds: number;
}

/**
 * An SLO error budget the canary must not burn too fast. Burn rate = the canary's error ratio
 * / (1 - slo/100): 1 spends the window's budget exactly over the window; the Google SRE
 * workbook pages at 14.4 over an hour of a 30-day window (2% of the budget in an hour).
 */
export interface ErrorBudget {
    /** Percent of requests that must succeed, e.g. 99.9. */
    readonly slo: number;
    /** The SLO's window, e.g. 30 days: what "budget spent" is a share of. */
    readonly windowSeconds: number;
    /** A check fails when the canary burns faster than this. */
    readonly maxBurnRate: number;
    /** Optional: the release fails once the canary has spent this percent of the window's budget. */
    readonly maxBudgetSpent?: number;
    /** Range of the canary's error-ratio query, e.g. "1m". */
    readonly interval: string;
}

export interface AnalysisSpec {
    readonly intervalSeconds: number;
    /** Failed checks tolerated over the whole run before rolling back. */
    readonly threshold: number;
    readonly maxWeight: number;
    readonly stepWeight: number;
    /** Explicit ladder; overrides stepWeight/maxWeight when non-empty. */
    readonly stepWeights: readonly number[];
    /** Blue/green or A/B: fixed number of analysed iterations, no weight ladder. */
    readonly iterations: number;
    readonly match: readonly MatchCondition[];
    readonly skipAnalysis: boolean;
    readonly progressDeadlineSeconds: number;
    readonly metrics: readonly MetricCheck[];
    readonly webhooks: readonly Webhook[];
    /** A fixed split held for a soak time instead of a ladder; absent: progressive. */
    readonly static?: StaticSplit;
    /** An error-budget check run with the metrics at every analysed step. */
    readonly errorBudget?: ErrorBudget;
}

/** The app the release is about. */
export interface Target {
    readonly name: string;      // e.g. podinfo: <name>-primary, <name>-canary
    readonly namespace: string;
}

export interface Routes {
    readonly primary: number;
    readonly canary: number;
    /** A/B: requests matching the analysis' match conditions go to the canary. */
    readonly match?: boolean;
}

/** Persisted state of one release (lives in the Pulumi state and in the cluster). */
export interface ReleaseState {
    readonly phase: Phase;
    /** Checksum of the canary pod template under analysis (or last promoted). */
    readonly revision: string;
    /** Revision that last passed analysis (or was initialized). */
    readonly promotedRevision: string;
    /** Revision that last failed; not retried without an explicit retry. */
    readonly failedRevision: string;
    readonly canaryWeight: number;
    /** Position on the weight ladder, or the iteration for blue/green and A/B. */
    readonly step: number;
    readonly failedChecks: number;
    /**
     * Percent of the error budget's window that the canary's errors spent in this release
     * (its error ratio over each analysed interval, at its weight); 0 when a release starts, absent in
     * state written before error budgets existed.
     */
    readonly budgetSpent?: number;
    /** confirm-rollout hooks passed for this revision. */
    readonly rolloutConfirmed: boolean;
    /** pre-rollout hooks passed for this revision. */
    readonly preRolloutDone: boolean;
    /** ms since epoch. */
    readonly startedAt: number;
    readonly lastTransitionAt: number;
    readonly message: string;
}
