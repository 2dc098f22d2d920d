// The weight ladder: which canary weights a release walks through.
import { AnalysisSpec } from "./types";

type LadderSpec = Pick<AnalysisSpec, "stepWeights" | "stepWeight" | "maxWeight" | "iterations" | "static">;

/**
 * Explicit stepWeights win; otherwise stepWeight, 2*stepWeight, ... capped at maxWeight
 * (the last step is maxWeight itself, as Flagger does when maxWeight is not a multiple).
 * A static split has one rung, its weight. Blue/green and A/B (iterations > 0) have no ladder.
 */
export function weightLadder(spec: LadderSpec): number[] {
    if (spec.iterations > 0) return [];
    if (spec.static !== undefined) return [spec.static.weight];
    if (spec.stepWeights.length > 0) return [...spec.stepWeights];
    const ladder: number[] = [];
    for (let w = spec.stepWeight; w < spec.maxWeight; w += spec.stepWeight) ladder.push(w);
    ladder.push(spec.maxWeight);
    return ladder;
}

/**
 * Number of analysed steps before promotion; a static split's are the soak time's intervals,
 * rounded up to whole intervals.
 */
export function totalSteps(spec: LadderSpec & Pick<AnalysisSpec, "intervalSeconds">): number {
    if (spec.iterations > 0) return spec.iterations;
    if (spec.static !== undefined) return Math.max(1, Math.ceil(spec.static.soakSeconds / spec.intervalSeconds));
    return weightLadder(spec).length;
}
