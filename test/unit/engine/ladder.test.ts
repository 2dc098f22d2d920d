import * as assert from "assert";
import { totalSteps, weightLadder } from "../../../components/canary/engine/ladder";

describe("weightLadder", () => {
    const cases: Array<[string, { stepWeight: number; maxWeight: number; stepWeights: number[]; iterations: number }, number[]]> = [
        ["walkthrough 10..50", { stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 0 }, [10, 20, 30, 40, 50]],
        ["max not a multiple ends on max", { stepWeight: 20, maxWeight: 50, stepWeights: [], iterations: 0 }, [20, 40, 50]],
        ["step equals max", { stepWeight: 50, maxWeight: 50, stepWeights: [], iterations: 0 }, [50]],
        ["explicit stepWeights win", { stepWeight: 10, maxWeight: 50, stepWeights: [1, 5, 25, 80], iterations: 0 }, [1, 5, 25, 80]],
        ["iterations have no ladder", { stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 10 }, []],
    ];
    for (const [name, s, want] of cases) {
        it(name, () => assert.deepStrictEqual(weightLadder(s), want));
    }
    it("counts iterations as steps for blue/green", () => {
        assert.strictEqual(totalSteps({ stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 7, intervalSeconds: 60 }), 7);
        assert.strictEqual(totalSteps({ stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 0, intervalSeconds: 60 }), 5);
    });
});

describe("static split ladder", () => {
    const base = { stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 0 };
    it("has one rung, the static weight, whatever stepWeight and maxWeight say", () => {
        assert.deepStrictEqual(weightLadder({ ...base, static: { weight: 20, soakSeconds: 30 } }), [20]);
    });
    // soak / interval, rounded up to whole analysed intervals, at least one
    const soaks: Array<[number, number, number]> = [
        [30, 2, 15], [31, 2, 16], [60, 60, 1], [10, 60, 1], [300, 30, 10], [1, 1, 1],
    ];
    for (const [soakSeconds, intervalSeconds, want] of soaks) {
        it(`soak ${soakSeconds}s every ${intervalSeconds}s is ${want} analysed interval(s)`, () => {
            assert.strictEqual(totalSteps({ ...base, intervalSeconds, static: { weight: 20, soakSeconds } }), want);
        });
    }
});
