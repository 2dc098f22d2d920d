// e2e new user: a fresh stack made only with the README's commands, plus the two settings an
// offline machine must make (the kube context, the local chart folder), previews and deploys.
// The kubeconfig is the ambient one ($KUBECONFIG), as on a workstation after `kind create cluster`.
import * as assert from "assert";
import { currentContext, image } from "../../scripts/lib/local-release";
import { ProjectStack } from "../../scripts/lib/project-stack";
import { e2eEnv } from "./harness";
import { Kube, assertGone, deployment, kube, projectStack } from "./stack";

describe("e2e new user: a stack made with the README's commands previews and deploys", function () {
    this.timeout(10 * 60_000);
    let k: Kube;
    let stack: ProjectStack;
    let deployed = false;
    const log = (s: string) => process.stdout.write(s);

    before(async function () {
        const env = e2eEnv();
        k = kube(env);
        stack = projectStack(env, "newuser", { KUBECONFIG: env.kubeconfigPath });
    });

    after(async function () {
        this.timeout(5 * 60_000);
        if (deployed) {
            const r = await stack.destroy({ onOutput: log });
            assert.strictEqual(r.code, 0, `destroy failed:\n${r.out.slice(-3000)}`);
        }
        await stack.remove();
    });

    it("pulumi stack init, two config sets, preview (changes nothing), up (initializes), destroy", async function () {
        await stack.init();
        // README "Offline or air-gapped": the only two settings such a machine needs
        await stack.mustRun(["config", "set", "canary:kubeContext", currentContext(e2eEnv().kubeconfig)]);
        await stack.mustRun(["config", "set", "canary:ingressNginxCharts", "../shared/charts"]);

        const changes = await stack.preview();
        assert.ok((changes.create ?? 0) >= 20, `preview of a new stack plans ${JSON.stringify(changes)}`);
        await assertGone("namespace test after a preview", () => k.core.readNamespace({ name: "test" }));

        const r = await stack.up([], { onOutput: log });
        deployed = true;
        assert.strictEqual(r.code, 0, `pulumi up of a new stack failed:\n${r.out.slice(-4000)}`);
        const out = await stack.outputs();
        assert.strictEqual(out.phase, "Initialized");
        assert.deepStrictEqual(await deployment(k, "test", "podinfo-primary"), { image: image("6.5.3"), replicas: 2, ready: 2 });
        assert.strictEqual((await deployment(k, "ingress-nginx", "ingress-nginx-controller")).ready, 1);

        const destroyed = await stack.destroy({ onOutput: log });
        assert.strictEqual(destroyed.code, 0, `destroy failed:\n${destroyed.out.slice(-3000)}`);
        deployed = false;
        await assertGone("namespace test after destroy", () => k.core.readNamespace({ name: "test" }));
    });
});
