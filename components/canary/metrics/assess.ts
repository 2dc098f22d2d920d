// Thresholds, as pure functions over one query result (Flagger's scheduler_metrics.go).
// The messages keep Flagger's wording so habits and dashboards carry over, e.g.
//   Halt podinfo.test advancement success rate 91.60% < 99%
//   Halt podinfo.test advancement request duration 1.2s > 500ms
//   Halt podinfo.test advancement error-ratio 12.30 > 10
// A result that is not a number (no data, NaN, query error, timeout, unreachable) never
// passes; its message names the check, the reason and the threshold it could not be held to.
import { MetricCheck, Target, ThresholdRange } from "../engine/types";
import { QueryResult } from "./provider";

export interface Assessment {
    readonly pass: boolean;
    readonly message: string;
}

type Kind = "success-rate" | "duration" | "custom";

function kindOf(check: MetricCheck): Kind {
    switch (check.builtin) {
        case "request-success-rate": return "success-rate";
        case "request-duration": return "duration";
        case undefined: return "custom";
    }
}

/** Flagger's `%v` of a float64 threshold: 99 -> "99", 99.5 -> "99.5". */
function num(v: number): string {
    return String(v);
}

/** A millisecond value as Go prints a time.Duration (1.2s, 500ms, 1m30s, 950µs), to the microsecond. */
export function goDuration(ms: number): string {
    let ns = Math.round(ms * 1000) * 1000;
    const sign = ns < 0 ? "-" : "";
    ns = Math.abs(ns);
    if (ns === 0) {
        return "0s";
    }
    if (ns < 1e6) {
        return `${sign}${ns / 1e3}µs`;
    }
    if (ns < 1e9) {
        return `${sign}${ns / 1e6}ms`;
    }
    const h = Math.floor(ns / 3600e9);
    const m = Math.floor((ns % 3600e9) / 60e9);
    const s = (ns % 60e9) / 1e9;
    return `${sign}${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}

/** How a value of this kind reads: "91.60%", "1.2s", "12.30". */
function showValue(kind: Kind, v: number): string {
    switch (kind) {
        case "success-rate": return `${v.toFixed(2)}%`;
        case "duration": return goDuration(v);
        case "custom": return v.toFixed(2);
    }
}

/** How a threshold of this kind reads: "99%", "500ms", "10". */
function showThreshold(kind: Kind, v: number): string {
    switch (kind) {
        case "success-rate": return `${num(v)}%`;
        case "duration": return goDuration(v);
        case "custom": return num(v);
    }
}

/** "success rate", "request duration", or the custom metric's name. */
function subject(check: MetricCheck, kind: Kind): string {
    switch (kind) {
        case "success-rate": return "success rate";
        case "duration": return "request duration";
        case "custom": return check.name;
    }
}

/** The range as a condition, e.g. ">= 99%", "<= 500ms", "within [1, 10]". */
export function describeRange(check: MetricCheck): string {
    const kind = kindOf(check);
    const { min, max } = check.thresholdRange;
    if (min !== undefined && max !== undefined) {
        return `within [${showThreshold(kind, min)}, ${showThreshold(kind, max)}]`;
    }
    if (min !== undefined) {
        return `>= ${showThreshold(kind, min)}`;
    }
    if (max !== undefined) {
        return `<= ${showThreshold(kind, max)}`;
    }
    return "(no threshold)";
}

const REASON_TEXT: Record<Exclude<QueryResult, { ok: true }>["reason"], string> = {
    "no-data": "no values found",
    nan: "value is not a number",
    "query-error": "query failed",
    timeout: "query timed out",
    unreachable: "Prometheus unreachable",
};

/** Why a query gave no number, as the messages say it: "no values found", "Prometheus unreachable". */
export function queryFailureText(result: Exclude<QueryResult, { ok: true }>): string {
    return REASON_TEXT[result.reason];
}

function hasBound(r: ThresholdRange): boolean {
    return r.min !== undefined || r.max !== undefined;
}

/** Holds one query result to a check's thresholdRange (inclusive bounds). */
export function assess(check: MetricCheck, result: QueryResult, target: Target): Assessment {
    const id = `${target.name}.${target.namespace}`;
    const kind = kindOf(check);
    const range = check.thresholdRange;

    // A check without bounds would pass anything: treat it as a failure, not a pass.
    if (!hasBound(range)) {
        return { pass: false, message: `Halt ${id} advancement metric "${check.name}" has no thresholdRange (min or max)` };
    }
    // No number to compare: the check fails, saying why and what it was held to.
    if (!result.ok) {
        return {
            pass: false,
            message: `Halt ${id} advancement ${REASON_TEXT[result.reason]} for metric "${check.name}" ` +
                `(threshold ${describeRange(check)}): ${result.message}`,
        };
    }

    const v = result.value;
    const what = subject(check, kind);
    // Below the minimum.
    if (range.min !== undefined && v < range.min) {
        return { pass: false, message: `Halt ${id} advancement ${what} ${showValue(kind, v)} < ${showThreshold(kind, range.min)}` };
    }
    // Above the maximum.
    if (range.max !== undefined && v > range.max) {
        return { pass: false, message: `Halt ${id} advancement ${what} ${showValue(kind, v)} > ${showThreshold(kind, range.max)}` };
    }
    return { pass: true, message: `${id} ${what} ${showValue(kind, v)} ${describeRange(check)}` };
}
