// An EventSink that also alerts: each release event goes to the inner sink (Kubernetes Events)
// and, when it is one of the moments that alert, to every `analysis.alerts[]` entry whose
// severity it reaches. The moments (Flagger alerts on the first and the last; halts are Events
// only there, which its users ask to be told about):
//   info   initialization, a new revision (with the analysis' facts), promotion completed
//   warn   each halt (a failed check, a gate waiting for approval, a canary not ready)
//   error  a rollback (threshold reached, manual, interrupted, abandoned, progress deadline)
// Severity is a floor, as Flagger documents it: `warn` receives warn and error, `error` only
// errors (Flagger's code sends warn messages to `error` alerts and error messages not to `warn`
// ones). A failed alert is logged and never fails the release, nor holds it: sends run in the
// background (a chat that hangs costs its timeout once, at the end), and flush() waits for them
// before the provider answers the engine, which may stop the process after that.
import { AnalysisSpec, Target } from "../engine/types";
import { msg } from "../engine/messages";
import { EventSink, ReleaseEvent } from "../events/sink";
import { AlertNotifier } from "./notifier";
import { Alert, AlertField, AlertSeverity, receives } from "./types";

/** The severity a release event alerts at, or undefined when it does not alert. */
export function alertSeverity(target: Target, event: ReleaseEvent): AlertSeverity | undefined {
    const m = event.message;
    if (m === msg.initialized(target) || m === msg.newRevision(target) || m === msg.skipAnalysis(target) || m === msg.promotionCompleted(target)) return "info";
    if (m.startsWith("Halt ")) return "warn";
    if (m.startsWith(`Rolling back ${target.name}.${target.namespace}`) || m.startsWith(`Canary deployment ${target.name}-canary.${target.namespace} not ready after`)) return "error";
    return undefined;
}

/** The facts sent with a new revision, as Flagger's alert metadata. */
export function analysisFields(target: Target, a: AnalysisSpec): AlertField[] {
    const routing = a.iterations > 0 ? (a.match.length > 0 ? "A/B Testing" : "Blue/Green")
        : a.stepWeights.length > 0 ? `Weight steps: ${a.stepWeights.join(",")} max: ${a.stepWeights[a.stepWeights.length - 1]}`
            : `Weight step: ${a.stepWeight} max: ${a.maxWeight}`;
    return [
        { name: "Target", value: `Deployment/${target.name}.${target.namespace}` },
        { name: "Failed checks threshold", value: String(a.threshold) },
        { name: "Progress deadline", value: `${a.progressDeadlineSeconds}s` },
        { name: "Traffic routing", value: routing },
    ];
}

export interface AlertingEventSinkOptions {
    /** Facts sent with a new revision (the analysis' settings, as Flagger's metadata). */
    readonly fields?: readonly AlertField[];
    readonly now?: () => number;
    /** Where a failed alert is reported. */
    readonly log: (line: string) => void;
}

export class AlertingEventSink implements EventSink {
    private readonly pending = new Set<Promise<void>>();

    constructor(
        private readonly inner: EventSink,
        private readonly alerts: readonly Alert[],
        private readonly notifier: AlertNotifier,
        private readonly opts: AlertingEventSinkOptions,
    ) {}

    async emit(target: Target, event: ReleaseEvent): Promise<void> {
        await this.inner.emit(target, event);
        const severity = alertSeverity(target, event);
        if (severity === undefined) return;
        const fields = event.message === msg.newRevision(target) ? this.opts.fields ?? [] : [];
        const message = { target, severity, message: event.message, fields, at: (this.opts.now ?? Date.now)() };
        for (const a of this.alerts.filter((x) => receives(x.severity, severity))) {
            const sent = this.notifier.send(a, message).then((r) => {
                if (!r.ok) this.opts.log(`! ${r.message}`);
            }).finally(() => this.pending.delete(sent));
            this.pending.add(sent);
        }
    }

    async flush(): Promise<void> {
        while (this.pending.size > 0) await Promise.all([...this.pending]);
    }
}
