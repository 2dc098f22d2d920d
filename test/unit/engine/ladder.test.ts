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
        assert.strictEqual(totalSteps({ stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 7 }), 7);
        assert.strictEqual(totalSteps({ stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 0 }), 5);
    });
});
