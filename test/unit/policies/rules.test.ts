// Policy rules called directly through validateResource.
import { strict as assert } from "assert";
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { allPolicies, appPodsHaveProbesAndResources, canaryAnalysisSane, canaryLoadTest, noLatestImageTag } from "../../../policies/rules";

function run(policy: ResourceValidationPolicy, type: string, name: string, props: Record<string, unknown>): string[] {
    const violations: string[] = [];
    const validate = policy.validateResource as (args: ResourceValidationArgs, report: (m: string) => void) => void;
    validate({ type, name, props, urn: `urn:pulumi:s::p::${type}::${name}` } as unknown as ResourceValidationArgs, (m) => violations.push(m));
    return violations;
}

const DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment";
const deployment = (name: string, container: Record<string, unknown>) => ({ metadata: { name }, spec: { template: { spec: { containers: [{ name: "app", ...container }] } } } });
const good = { image: "ghcr.io/stefanprodan/podinfo:6.5.3", readinessProbe: {}, livenessProbe: {}, resources: { requests: { cpu: "1" }, limits: { cpu: "1" } } };

describe("policies", () => {
    it("no-latest-image-tag", () => {
        const p = noLatestImageTag();
        assert.equal(p.name, "no-latest-image-tag");
        assert.deepEqual(run(p, "kubernetes:apps/v1:Deployment", "podinfo-canary", deployment("podinfo-canary", good)), []);
        assert.deepEqual(run(p, "kubernetes:apps/v1:Deployment", "x", deployment("x", { image: "ghcr.io/a/b@sha256:abc" })), []);
        assert.deepEqual(run(p, "kubernetes:apps/v1:Deployment", "x", deployment("x", { image: "podinfo:latest" })), ['container "app" of x: image "podinfo:latest" must be pinned to a tag other than latest or to a digest']);
        assert.equal(run(p, "kubernetes:apps/v1:Deployment", "x", deployment("x", { image: "localhost:5000/podinfo" })).length, 1);
        assert.deepEqual(run(p, "kubernetes:core/v1:Service", "x", {}), []);
    });
    it("app-pods-have-probes-and-resources applies to primary and canary Deployments only", () => {
        const p = appPodsHaveProbesAndResources();
        assert.deepEqual(run(p, "kubernetes:apps/v1:Deployment", "podinfo-primary", deployment("podinfo-primary", good)), []);
        assert.deepEqual(run(p, "kubernetes:apps/v1:Deployment", "podinfo-canary", deployment("podinfo-canary", { image: "a:1", livenessProbe: {} })), ['container "app" of podinfo-canary lacks readinessProbe, resources.requests, resources.limits']);
        assert.deepEqual(run(p, "kubernetes:apps/v1:Deployment", "prometheus", deployment("prometheus", { image: "a:1" })), []);
    });
    it("canary-analysis-sane", () => {
        const p = canaryAnalysisSane();
        const type = "pulumi-nodejs:dynamic/canary:CanaryRelease";
        const analysis = { intervalSeconds: 30, threshold: 5, maxWeight: 50, stepWeights: [], skipAnalysis: false, metrics: [{ name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 } }] };
        assert.deepEqual(run(p, type, "podinfo-release", { analysis }), []);
        assert.deepEqual(run(p, type, "r", { analysis: { ...analysis, skipAnalysis: true, metrics: [], maxWeight: 100, threshold: 200 } }), [
            "r: analysis.skipAnalysis is true: releases are promoted unchecked",
            "r: analysis.metrics is empty and no errorBudget is set: nothing decides a rollback",
            "r: canary weight reaches 100%, above 80%",
            "r: threshold 200 x interval 30s lets a bad canary serve for over an hour",
        ]);
        assert.deepEqual(run(p, type, "r", { analysis: { ...analysis, metrics: [{ ...analysis.metrics[0], thresholdRange: { min: 50 } }] } }), ["r: request-success-rate threshold min 50 is below 90%"]);
        assert.deepEqual(run(canaryAnalysisSane({ maxWeight: 40 }), type, "r", { analysis }), ["r: canary weight reaches 50%, above 40%"]);
        // an error budget decides a rollback too; a static split's weight is its top weight
        const budget = { slo: 99.9, windowSeconds: 2592000, maxBurnRate: 10, interval: "1m" };
        assert.deepEqual(run(p, type, "r", { analysis: { ...analysis, metrics: [], errorBudget: budget } }), []);
        assert.deepEqual(run(canaryAnalysisSane({ maxWeight: 40 }), type, "r", { analysis: { ...analysis, static: { weight: 30, soakSeconds: 60 } } }), []);
        assert.deepEqual(run(canaryAnalysisSane({ maxWeight: 20 }), type, "r", { analysis: { ...analysis, static: { weight: 30, soakSeconds: 60 } } }), ["r: canary weight reaches 30%, above 20%"]);
    });
    it("canary-load-test warns (advisory) about an analysed release without a rollout webhook", () => {
        const p = canaryLoadTest();
        assert.equal(p.enforcementLevel, "advisory");
        const type = "pulumi-nodejs:dynamic/canary:CanaryRelease";
        const metrics = [{ name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 } }];
        const load = { name: "load-test", type: "rollout", url: "http://flagger-loadtester.test/" };
        assert.deepEqual(run(p, type, "podinfo-release", { analysis: { metrics, webhooks: [load] } }), []);
        assert.deepEqual(run(p, type, "podinfo-release", { analysis: { metrics, webhooks: [{ ...load, type: "pre-rollout" }] } }), [
            "podinfo-release: no rollout webhook (load test): the checks see user traffic only, and a window without requests fails them",
        ]);
        // nothing to load-test: no analysis, or no metric that needs traffic
        assert.deepEqual(run(p, type, "r", { analysis: { metrics, webhooks: [], skipAnalysis: true } }), []);
        assert.deepEqual(run(p, type, "r", { analysis: { metrics: [], webhooks: [] } }), []);
        assert.equal(run(p, type, "r", { analysis: { metrics: [], webhooks: [], errorBudget: { slo: 99.9 } } }).length, 1, "an error budget needs traffic too");
        assert.deepEqual(run(p, DEPLOYMENT_TYPE, "podinfo-canary", { analysis: { metrics, webhooks: [] } }), []);
    });
    it("the pack holds every rule, mandatory ones and the advisory one", () => {
        assert.deepEqual(allPolicies().map((p) => [p.name, p.enforcementLevel]), [
            ["no-latest-image-tag", "mandatory"], ["app-pods-have-probes-and-resources", "mandatory"],
            ["canary-analysis-sane", "mandatory"], ["canary-load-test", "advisory"],
        ]);
    });
});
