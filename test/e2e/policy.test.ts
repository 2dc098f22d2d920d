// e2e policy pack: `policies/` loaded by the real CLI (`--policy-pack policies`, through the
// Node.js language host) on a stack of the project. A mandatory violation stops `pulumi up` at
// its preview, before anything is created; an advisory one warns and lets the preview pass.
import * as assert from "assert";
import { currentContext, image } from "../../scripts/lib/local-release";
import { ProjectStack } from "../../scripts/lib/project-stack";
import { e2eEnv } from "./harness";
import { Kube, assertGone, kube, projectStack } from "./stack";

const NS = "policy-e2e";

describe("e2e policy pack: mandatory rules block the up, advisory rules warn", function () {
    this.timeout(5 * 60_000);
    let k: Kube;
    let stack: ProjectStack;

    before(async function () {
        const env = e2eEnv();
        k = kube(env);
        stack = projectStack(env, "policy", { KUBECONFIG: env.kubeconfigPath });
        await stack.init();
        // the app alone: the rules look at its Deployments and its release
        stack.setConfig({
            "canary:kubeContext": currentContext(env.kubeconfig), "canary:namespace": NS,
            "canary:installIngressNginx": false, "canary:installPrometheus": false, "canary:installLoadtester": false,
        });
    });

    after(async function () {
        await stack.remove();
    });

    it("an image tagged latest (no-latest-image-tag, mandatory) stops `pulumi up` before anything is created", async function () {
        stack.setConfig({ "canary:image": image("latest") });
        const r = await stack.run(["up", "--yes", "--policy-pack", "policies"]);
        assert.notStrictEqual(r.code, 0, `the up went through:\n${r.out.slice(-3000)}`);
        assert.match(r.out, /\[mandatory\]\s+no-latest-image-tag\s+\(kubernetes:apps\/v1:Deployment: podinfo-canary\)/);
        assert.match(r.out, /image "ghcr\.io\/stefanprodan\/podinfo:latest" must be pinned/);
        await assertGone(`namespace ${NS}`, () => k.core.readNamespace({ name: NS }));
    });

    it("a release without a load test (canary-load-test, advisory) warns and the preview passes", async function () {
        stack.setConfig({ "canary:image": image("6.5.3") });
        const r = await stack.run(["preview", "--policy-pack", "policies"]);
        assert.strictEqual(r.code, 0, `the preview failed:\n${r.out.slice(-3000)}`);
        assert.match(r.out, /\[advisory\]\s+canary-load-test\s+\(pulumi-nodejs:dynamic\/canary:CanaryRelease: podinfo-release\)/);
        assert.match(r.out, /no rollout webhook \(load test\)/);
        assert.doesNotMatch(r.out, /\[mandatory\]/);
    });
});
