import * as assert from "assert";
import { assessBudget, budgetSpent, burnRate, showWindow } from "../../../components/canary/engine/budget";
import { ErrorBudget } from "../../../components/canary/engine/types";

const target = { name: "podinfo", namespace: "test" };
const DAY = 86400;
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);

describe("error budget arithmetic", () => {
    // burn rate = error ratio / (1 - SLO)
    const burns: Array<[number, number, number]> = [
        [0, 99.9, 0],
        [0.001, 99.9, 1],      // exactly the budget's pace
        [0.0144, 99.9, 14.4],  // the SRE workbook's fast-burn page
        [0.1, 99.9, 100],
        [0.01, 99, 1],
        [0.05, 95, 1],
        [1, 99.9, 1000],       // every request fails
    ];
    for (const [ratio, slo, want] of burns) {
        it(`error ratio ${ratio} against SLO ${slo}% burns at ${want}x`, () => close(burnRate(ratio, slo), want, "burn rate"));
    }

    // budget spent (percent of the window's budget) = burn rate * weight * seconds / window
    const spends: Array<[string, number, number, number, number, number]> = [
        ["1x at 100% for the whole window spends all of it", 1, 100, 30 * DAY, 30 * DAY, 100],
        ["14.4x at 100% for 1h of 30d spends 2%", 14.4, 100, 3600, 30 * DAY, 2],
        ["14.4x at 20% for 1h of 30d spends 0.4%", 14.4, 20, 3600, 30 * DAY, 0.4],
        ["10x at 20% for 60s of 30d", 10, 20, 60, 30 * DAY, (100 * 10 * 0.2 * 60) / (30 * DAY)],
        ["no weight (blue/green) spends none of the users' budget", 50, 0, 600, 30 * DAY, 0],
        ["no errors spend nothing", 0, 50, 600, 30 * DAY, 0],
    ];
    for (const [name, rate, weight, seconds, window, want] of spends) {
        it(name, () => close(budgetSpent(rate, weight, seconds, window), want, "budget spent"));
    }

    const windows: Array<[number, string]> = [[30 * DAY, "30d"], [7 * DAY + 12 * 3600, "7d12h"], [3600, "1h"], [90, "1m30s"], [0, "0s"]];
    for (const [s, want] of windows) it(`a ${s}s window reads ${want}`, () => assert.strictEqual(showWindow(s), want));
});

describe("assessBudget", () => {
    const budget: ErrorBudget = { slo: 99.9, windowSeconds: 30 * DAY, maxBurnRate: 10, interval: "1m" };

    it("passes a canary burning under the rate, and adds what it spent", () => {
        const a = assessBudget(target, budget, { ok: true, errorRatio: 0.005 }, 20, 60, 0.001);
        assert.strictEqual(a.pass, true);
        close(a.spent, 0.001 + (100 * 5 * 0.2 * 60) / (30 * DAY), "spent");
        assert.strictEqual(a.message, "podinfo.test error budget burn rate 5.00x <= 10x, spent 0.0033% of 30d");
    });

    it("passes a rate equal to the maximum (inclusive bound)", () => {
        assert.strictEqual(assessBudget(target, budget, { ok: true, errorRatio: 0.01 }, 20, 60, 0).pass, true);
    });

    it("fails a canary burning faster, giving the burn rate, the error ratio and the budget spent", () => {
        const a = assessBudget(target, budget, { ok: true, errorRatio: 0.03 }, 20, 60, 0);
        assert.strictEqual(a.pass, false);
        assert.strictEqual(a.exhausted, false, "no cap set: a fast burn is a failed check, counted to the threshold");
        assert.strictEqual(a.message,
            "Halt podinfo.test advancement error budget burn rate 30.00x > 10x (canary error ratio 3.00% against SLO 99.9%); budget spent 0.014% of 30d");
    });

    it("fails once the release's spending passes maxBudgetSpent, though the rate is allowed", () => {
        const capped = { ...budget, maxBurnRate: 1000, maxBudgetSpent: 0.01 };
        const a = assessBudget(target, capped, { ok: true, errorRatio: 0.05 }, 50, 60, 0.009);
        assert.strictEqual(a.pass, false);
        assert.strictEqual(a.exhausted, true, "spent budget cannot come back: the release must end");
        assert.strictEqual(a.message,
            "Halt podinfo.test advancement error budget spent 0.067% > 0.01% of 30d (burn rate 50.00x, canary error ratio 5.00% against SLO 99.9%)");
    });

    it("fails when there is no error ratio, naming why, and spends nothing", () => {
        const a = assessBudget(target, budget, { ok: false, message: "no values found for the canary's success rate" }, 20, 60, 0.5);
        assert.deepStrictEqual(a, {
            pass: false, spent: 0.5, exhausted: false,
            message: "Halt podinfo.test advancement error budget (burn rate <= 10x of SLO 99.9%): no values found for the canary's success rate",
        });
    });
});
