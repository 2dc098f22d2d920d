// Policy rules for stacks built with this project, each a factory with a kebab-case name so
// tests call validateResource directly. They look at raw resource types and properties.
import { ResourceValidationArgs, ResourceValidationPolicy, ReportViolation } from "@pulumi/policy";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const RELEASE = "pulumi-nodejs:dynamic/canary:CanaryRelease";

type Container = { name?: string; image?: string; readinessProbe?: unknown; livenessProbe?: unknown; resources?: { requests?: unknown; limits?: unknown } };

function containers(args: ResourceValidationArgs): Container[] {
    return (args.props?.spec?.template?.spec?.containers ?? []) as Container[];
}

/** Images must be pinned: no `latest`, no missing tag (a digest is fine). */
export function noLatestImageTag(): ResourceValidationPolicy {
    return {
        name: "no-latest-image-tag",
        description: "Deployments pin their images: a canary revision must mean one image.",
        enforcementLevel: "mandatory",
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (args.type !== DEPLOYMENT) return;
            for (const c of containers(args)) {
                const image = c.image ?? "";
                if (image.includes("@sha256:")) continue;
                const tag = /:([^/:]+)$/.exec(image)?.[1];
                if (tag === undefined || tag === "latest") report(`container "${c.name}" of ${args.name}: image "${image}" must be pinned to a tag other than latest or to a digest`);
            }
        },
    };
}

/** App Deployments (primary and canary) carry readiness/liveness probes and resource requests. */
export function appPodsHaveProbesAndResources(): ResourceValidationPolicy {
    return {
        name: "app-pods-have-probes-and-resources",
        description: "Canary and primary pods declare readiness and liveness probes and CPU/memory requests and limits: readiness gates the analysis.",
        enforcementLevel: "mandatory",
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (args.type !== DEPLOYMENT || !/-(primary|canary)$/.test(String(args.props?.metadata?.name ?? args.name))) return;
            for (const c of containers(args)) {
                const missing = [
                    c.readinessProbe === undefined ? "readinessProbe" : "",
                    c.livenessProbe === undefined ? "livenessProbe" : "",
                    c.resources?.requests === undefined ? "resources.requests" : "",
                    c.resources?.limits === undefined ? "resources.limits" : "",
                ].filter((m) => m !== "");
                if (missing.length > 0) report(`container "${c.name}" of ${args.name} lacks ${missing.join(", ")}`);
            }
        },
    };
}

export interface AnalysisBounds {
    /** Lowest acceptable success-rate threshold (%). Default 90. */
    readonly minSuccessRateThreshold?: number;
    /** Highest canary weight before promotion. Default 80. */
    readonly maxWeight?: number;
}

/** The analysis actually gates: metrics exist, thresholds are not trivially passed. */
export function canaryAnalysisSane(bounds: AnalysisBounds = {}): ResourceValidationPolicy {
    const minRate = bounds.minSuccessRateThreshold ?? 90;
    const maxWeight = bounds.maxWeight ?? 80;
    return {
        name: "canary-analysis-sane",
        description: "A canary release checks at least one metric, holds success rate to a real threshold and never sends most traffic to an unproven canary.",
        enforcementLevel: "mandatory",
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (args.type !== RELEASE) return;
            const a = args.props?.analysis;
            if (a === undefined) return;
            if (a.skipAnalysis === true) report(`${args.name}: analysis.skipAnalysis is true: releases are promoted unchecked`);
            const budget = typeof a.errorBudget === "object" && a.errorBudget !== null;
            if ((!Array.isArray(a.metrics) || a.metrics.length === 0) && !budget) report(`${args.name}: analysis.metrics is empty and no errorBudget is set: nothing decides a rollback`);
            for (const m of a.metrics ?? []) {
                if (m.builtin === "request-success-rate" && typeof m.thresholdRange?.min === "number" && m.thresholdRange.min < minRate) {
                    report(`${args.name}: ${m.name} threshold min ${m.thresholdRange.min} is below ${minRate}%`);
                }
            }
            const top = typeof a.static?.weight === "number" ? a.static.weight
                : Array.isArray(a.stepWeights) && a.stepWeights.length > 0 ? a.stepWeights[a.stepWeights.length - 1] : a.maxWeight;
            if (typeof top === "number" && top > maxWeight) report(`${args.name}: canary weight reaches ${top}%, above ${maxWeight}%`);
            if (typeof a.threshold === "number" && typeof a.intervalSeconds === "number" && a.threshold * a.intervalSeconds > 3600) {
                report(`${args.name}: threshold ${a.threshold} x interval ${a.intervalSeconds}s lets a bad canary serve for over an hour`);
            }
        },
    };
}

/**
 * Advisory: an analysed release has a rollout webhook (a load test). Without one its checks see
 * user traffic only, and a window with no request is no data: a failed check (quiet hours fail
 * releases). Warns, does not block: some apps have traffic enough.
 */
export function canaryLoadTest(): ResourceValidationPolicy {
    return {
        name: "canary-load-test",
        description: "An analysed canary release generates its own traffic with a rollout webhook (a load test), so an idle hour does not fail it for lack of data.",
        enforcementLevel: "advisory",
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (args.type !== RELEASE) return;
            const a = args.props?.analysis;
            const measured = (Array.isArray(a?.metrics) && a.metrics.length > 0) || (typeof a?.errorBudget === "object" && a.errorBudget !== null);
            if (a === undefined || a.skipAnalysis === true || !measured) return;
            const hooks = (Array.isArray(a.webhooks) ? a.webhooks : []) as { type?: string }[];
            if (!hooks.some((h) => h.type === "rollout")) {
                report(`${args.name}: no rollout webhook (load test): the checks see user traffic only, and a window without requests fails them`);
            }
        },
    };
}

export function allPolicies(): ResourceValidationPolicy[] {
    return [noLatestImageTag(), appPodsHaveProbesAndResources(), canaryAnalysisSane(), canaryLoadTest()];
}
