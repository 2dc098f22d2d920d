// Error-budget arithmetic (pure): burn rate of the canary's errors against an SLO, and the
// share of the SLO window's budget the canary's traffic spent.
//   burn rate    = error ratio / (1 - slo)           1x spends the budget exactly over the window
//   budget spent = burn rate * weight * seconds / window   (of the window's budget, in percent)
// A canary at 20% weight burning at 10x for 60 s of a 30-day window spends
// 10 * 0.2 * 60 / 2592000 = 0.0046% of the month's budget.
import { ErrorBudget, Target } from "./types";

/** The canary's error ratio over the budget's interval, or why there is none. */
export type ErrorRatio = { readonly ok: true; readonly errorRatio: number } | { readonly ok: false; readonly message: string };

export interface BudgetAssessment {
    readonly pass: boolean;
    readonly message: string;
    /** Percent of the window's budget spent after this interval. */
    readonly spent: number;
    /** The spending passed maxBudgetSpent: no later interval can bring it back. */
    readonly exhausted: boolean;
}

export function burnRate(errorRatio: number, slo: number): number {
    return errorRatio / (1 - slo / 100);
}

/** Percent of the window's budget that `seconds` at this burn rate and weight spend. */
export function budgetSpent(rate: number, weightPercent: number, seconds: number, windowSeconds: number): number {
    return (100 * rate * (weightPercent / 100) * seconds) / windowSeconds;
}

/** "30d", "7d12h", "1h", "90s": the window as people write it. */
export function showWindow(seconds: number): string {
    const parts: string[] = [];
    let rest = seconds;
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
        const n = Math.floor(rest / size);
        if (n > 0) parts.push(`${n}${unit}`);
        rest -= n * size;
    }
    return parts.join("") || "0s";
}

/** The check as the plan line and a no-data failure name it: "error budget (burn rate <= 10x of SLO 99.9%)". */
export function describeBudget(budget: ErrorBudget): string {
    return `error budget (burn rate <= ${budget.maxBurnRate}x of SLO ${budget.slo}%)`;
}

/** Small shares keep two significant digits: 2.10, 0.014, 0.0046, 1.2e-7. */
function showPercent(v: number): string {
    if (v === 0) return "0";
    return v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

const showRate = (v: number) => `${v.toFixed(2)}x`;

/** Above a bound beyond float noise: 0.01 / (1 - 0.999) is 10.000000000000009, and a bound is inclusive. */
const above = (v: number, bound: number) => v > bound * (1 + 1e-9);

/**
 * Holds one interval's error ratio to the budget: fails when the canary burns faster than
 * maxBurnRate, or when what it spent in this release (`spentBefore` plus this interval at
 * `weightPercent`) passes maxBudgetSpent. No data is a failure, never a pass.
 */
export function assessBudget(
    target: Target, budget: ErrorBudget, reading: ErrorRatio, weightPercent: number, intervalSeconds: number, spentBefore: number,
): BudgetAssessment {
    const id = `${target.name}.${target.namespace}`;
    const window = showWindow(budget.windowSeconds);
    if (!reading.ok) {
        return { pass: false, spent: spentBefore, exhausted: false, message: `Halt ${id} advancement ${describeBudget(budget)}: ${reading.message}` };
    }
    const rate = burnRate(reading.errorRatio, budget.slo);
    const spent = spentBefore + budgetSpent(rate, weightPercent, intervalSeconds, budget.windowSeconds);
    const ratio = `canary error ratio ${(100 * reading.errorRatio).toFixed(2)}% against SLO ${budget.slo}%`;
    const exhausted = budget.maxBudgetSpent !== undefined && above(spent, budget.maxBudgetSpent);
    if (above(rate, budget.maxBurnRate)) {
        return {
            pass: false, spent, exhausted,
            message: `Halt ${id} advancement error budget burn rate ${showRate(rate)} > ${budget.maxBurnRate}x (${ratio}); budget spent ${showPercent(spent)}% of ${window}`,
        };
    }
    if (exhausted) {
        return {
            pass: false, spent, exhausted,
            message: `Halt ${id} advancement error budget spent ${showPercent(spent)}% > ${budget.maxBudgetSpent}% of ${window} (burn rate ${showRate(rate)}, ${ratio})`,
        };
    }
    return { pass: true, spent, exhausted, message: `${id} error budget burn rate ${showRate(rate)} <= ${budget.maxBurnRate}x, spent ${showPercent(spent)}% of ${window}` };
}
