// Prometheus alert rules over the release metrics (releaseMetrics.ts): a failed release and a
// stuck one, as the Flagger walkthroughs' CanaryFailed / CanaryStuck. The Prometheus component
// loads them; `promtool check rules` and a real Prometheus check them in the tests.
import { RELEASE_METRIC } from "./releaseMetrics";

export interface AlertRuleOptions {
    /** A running release with no transition for this long is stuck (Prometheus duration). Default "15m". */
    readonly stuckAfter?: string;
    /** How long a failure stays before it fires ("for"). Default "0m": at once. */
    readonly failedFor?: string;
}

/** Seconds of a Prometheus duration made of one unit ("15m", "90s", "1h"). */
function seconds(d: string): number {
    const m = /^(\d+)(s|m|h)$/.exec(d);
    if (m === null) throw new Error(`stuckAfter: must be a Prometheus duration of one unit such as 15m, 90s or 1h, got ${JSON.stringify(d)}`);
    return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"];
}

export function releaseAlertRules(o: AlertRuleOptions = {}): { groups: unknown[] } {
    const stuckAfter = o.stuckAfter ?? "15m";
    const who = "{{ $labels.app }}.{{ $labels.namespace }}";
    return {
        groups: [{
            name: "canary-releases",
            rules: [
                {
                    alert: "CanaryFailed",
                    expr: `${RELEASE_METRIC.status} == 2`,
                    for: o.failedFor ?? "0m",
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `Canary release of ${who} failed`,
                        description: `The last release of ${who} was rolled back; all traffic is on the primary. See its events or the pulumi up that ran it.`,
                    },
                },
                {
                    alert: "CanaryStuck",
                    expr: `${RELEASE_METRIC.status} == 0 and (time() - ${RELEASE_METRIC.lastTransition}) > ${seconds(stuckAfter)}`,
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `Canary release of ${who} is stuck`,
                        description: `The release of ${who} has not changed for more than ${stuckAfter} while running: its pulumi up may have been killed. The next pulumi up converges it.`,
                    },
                },
            ],
        }],
    };
}
