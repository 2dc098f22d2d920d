// Shared fixtures for engine tests: a spec with Flagger's walkthrough defaults, a target.
import { AnalysisSpec, Target, Webhook, HookType } from "../../../components/canary/engine/types";

export const target: Target = { name: "podinfo", namespace: "test" };

export function spec(over: Partial<AnalysisSpec> = {}): AnalysisSpec {
    return {
        intervalSeconds: 30, threshold: 5, maxWeight: 50, stepWeight: 10, stepWeights: [],
        iterations: 0, match: [], skipAnalysis: false, progressDeadlineSeconds: 60,
        metrics: [{ name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m", templateVariables: {} }],
        webhooks: [],
        ...over,
    };
}

export function hook(type: HookType, name: string = type): Webhook {
    return { name, type, url: `http://loadtester.test/${name}`, timeoutSeconds: 5, retries: 0, metadata: {} };
}
