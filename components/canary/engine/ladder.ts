// The weight ladder: which canary weights a release walks through.
import { AnalysisSpec } from "./types";

/**
 * Explicit stepWeights win; otherwise stepWeight, 2*stepWeight, ... capped at maxWeight
 * (the last step is maxWeight itself, as Flagger does when maxWeight is not a multiple).
 * Blue/green and A/B (iterations > 0) have no ladder.
 */
export function weightLadder(spec: Pick<AnalysisSpec, "stepWeights" | "stepWeight" | "maxWeight" | "iterations">): number[] {
    if (spec.iterations > 0) return [];
    if (spec.stepWeights.length > 0) return [...spec.stepWeights];
    const ladder: number[] = [];
    for (let w = spec.stepWeight; w < spec.maxWeight; w += spec.stepWeight) ladder.push(w);
    ladder.push(spec.maxWeight);
    return ladder;
}

/** Number of analysed steps before promotion. */
export function totalSteps(spec: Pick<AnalysisSpec, "stepWeights" | "stepWeight" | "maxWeight" | "iterations">): number {
    return spec.iterations > 0 ? spec.iterations : weightLadder(spec).length;
}
