// Event texts, worded as Flagger's so dashboards and habits carry over.
import { Target } from "./types";

const id = (t: Target) => `${t.name}.${t.namespace}`;

export const msg = {
    initialized: (t: Target) => `Initialization done! ${id(t)}`,
    newRevision: (t: Target) => `New revision detected! Scaling up ${id(t)}`,
    skipAnalysis: (t: Target) => `Skipping analysis for ${id(t)}`,
    waitingApproval: (t: Target, hook: string) => `Halt ${id(t)} advancement waiting for approval ${hook}`,
    notReady: (t: Target, why: string) => `Halt advancement ${t.name}-canary.${t.namespace} ${why}`,
    deadlineExceeded: (t: Target, seconds: number) =>
        `Canary deployment ${t.name}-canary.${t.namespace} not ready after ${seconds}s: progress deadline exceeded`,
    preRolloutFailed: (t: Target, why: string) => `Halt ${id(t)} advancement pre-rollout check failed: ${why}`,
    rolloutHookFailed: (t: Target, why: string) => `Halt ${id(t)} advancement rollout check failed: ${why}`,
    startingAnalysis: (t: Target) => `Starting canary analysis for ${id(t)}`,
    advanceWeight: (t: Target, w: number) => `Advance ${id(t)} canary weight ${w}`,
    advanceIteration: (t: Target, i: number, n: number) => `Advance ${id(t)} canary iteration ${i}/${n}`,
    soaking: (t: Target, w: number, soaked: number, soak: number) => `Static ${id(t)} canary weight ${w}: soaked ${soaked}s of ${soak}s`,
    copying: (t: Target) => `Copying ${id(t)} template spec to ${t.name}-primary.${t.namespace}`,
    promotionCompleted: (t: Target) => `Promotion completed! Scaling down ${id(t)}`,
    thresholdReached: (t: Target, n: number) => `Rolling back ${id(t)} failed checks threshold reached ${n}`,
    budgetExhausted: (t: Target) => `Rolling back ${id(t)} error budget spent`,
    manualRollback: (t: Target) => `Rolling back ${id(t)} manual webhook invoked`,
    canaryFailed: (t: Target) => `Canary failed! Scaling down ${id(t)}`,
    interrupted: (t: Target) => `Rolling back ${id(t)}: release interrupted, routing all traffic to primary`,
    abandoned: (t: Target, revision: string) => `Rolling back ${id(t)}: unfinished release of revision ${revision} abandoned, routing all traffic to primary`,
};
