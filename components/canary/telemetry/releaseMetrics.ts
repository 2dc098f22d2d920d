// The release's state as Prometheus series (text exposition format 0.0.4), one group per app.
// A release runs inside `pulumi up`, a process that ends: its last state must outlive it, so
// the provider pushes this group to a Pushgateway at every step (Prometheus' model for batch
// jobs) instead of serving it. Names follow Flagger's flagger_canary_* with our prefix.
import { Phase, ReleaseState, Target } from "../engine/types";

export const RELEASE_METRIC = {
    /** 0 running, 1 succeeded (or initialized), 2 failed: Flagger's flagger_canary_status. */
    status: "canary_release_status",
    /** 1 for the current phase, 0 for the others (a state set, for dashboards). */
    phase: "canary_release_phase",
    /** Traffic weight per role (primary, canary). */
    weight: "canary_release_weight",
    failedChecks: "canary_release_failed_checks",
    /** Percent of the error budget's window spent in this release. */
    budgetSpent: "canary_release_error_budget_spent_percent",
    /** Seconds since the release started (while it runs), or its length (once it ended). */
    duration: "canary_release_duration_seconds",
    /** When the release last changed phase or weight: a release that stops changing is stuck. */
    lastTransition: "canary_release_last_transition_timestamp_seconds",
    /** 1, labelled with the revision under analysis and the promoted one. */
    info: "canary_release_info",
} as const;

const PHASES: readonly Phase[] = ["Initializing", "Initialized", "Progressing", "WaitingPromotion", "Promoting", "Finalising", "Succeeded", "Failed"];

/** Flagger's status encoding: anything that is not a result yet is running. */
export function statusValue(phase: Phase): 0 | 1 | 2 {
    if (phase === "Failed") return 2;
    return phase === "Succeeded" || phase === "Initialized" ? 1 : 0;
}

function running(phase: Phase): boolean {
    return statusValue(phase) === 0;
}

/** A label value escaped as the exposition format wants it (backslash, quote, newline). */
function label(v: string): string {
    return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * The group's text. The app and namespace are the Pushgateway group's key (they label every
 * series there), so the series carry only their own labels. `now` is ms since the epoch.
 */
export function releaseMetricsText(state: ReleaseState, now: number): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, samples: Array<[string, number]>) => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
    };
    const seconds = (ms: number) => Math.round(ms) / 1000;
    const ended = running(state.phase) ? now : state.lastTransitionAt;
    gauge(RELEASE_METRIC.status, "Release status: 0 running, 1 succeeded, 2 failed.", [["", statusValue(state.phase)]]);
    gauge(RELEASE_METRIC.phase, "1 for the release's current phase.", PHASES.map((p) => [`{phase="${p}"}`, p === state.phase ? 1 : 0]));
    gauge(RELEASE_METRIC.weight, "Traffic weight in percent per role.", [['{role="primary"}', 100 - state.canaryWeight], ['{role="canary"}', state.canaryWeight]]);
    gauge(RELEASE_METRIC.failedChecks, "Failed checks in this release.", [["", state.failedChecks]]);
    gauge(RELEASE_METRIC.budgetSpent, "Percent of the error budget's window the canary spent in this release.", [["", state.budgetSpent ?? 0]]);
    gauge(RELEASE_METRIC.duration, "Seconds since the release started, or its length once it ended.", [["", state.startedAt > 0 ? seconds(Math.max(0, ended - state.startedAt)) : 0]]);
    gauge(RELEASE_METRIC.lastTransition, "Unix time of the release's last transition.", [["", seconds(state.lastTransitionAt)]]);
    gauge(RELEASE_METRIC.info, "The revision under analysis and the promoted one.", [[`{revision="${label(state.revision)}",promoted_revision="${label(state.promotedRevision)}"}`, 1]]);
    return `${lines.join("\n")}\n`;
}

/** The Pushgateway path of an app's group: PUT replaces the group, DELETE removes it. */
export function groupPath(target: Target): string {
    return `/metrics/job/pulumi-canary/namespace/${encodeURIComponent(target.namespace)}/app/${encodeURIComponent(target.name)}`;
}
