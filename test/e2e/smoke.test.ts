// e2e smoke: a real `pulumi up`, `preview` and `destroy` with the real CLI against the run's
// kube-apiserver + kwok cluster (test/e2e/harness.ts), local file backend, passphrase from env.
//
// The program runs inline through the Automation API: the CLI then talks to the language host
// inside this process, because pulumi-language-nodejs cannot be built here (the Go module proxy
// answers 403 for github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3). Kubernetes
// objects are created by dynamic resources instead of @pulumi/kubernetes, whose provider is
// refused the same way (test/fixtures/smoke/kube-object.ts); swap them in once it builds.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { e2eEnv } from "./harness";
import { APP, REPLICAS, smokeProgram } from "../fixtures/smoke/program";

/** The key Pulumi's state file uses to mark an encrypted (secret) value, and its value. */
const SECRET_SIG = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"] as const;

/** The smoke stack's checkpoint in the file backend at `backendUrl` (file://DIR). */
function stackStateFile(backendUrl: string): string {
    const found: string[] = [];
    const walk = (dir: string): void => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(p);
            } else if (entry.name === "smoke.json" && dir.includes(`${path.sep}stacks`)) {
                found.push(p);
            }
        }
    };
    walk(backendUrl.replace(/^file:\/\//, ""));
    assert.strictEqual(found.length, 1, `expected one smoke.json checkpoint, found ${JSON.stringify(found)}`);
    return found[0];
}

describe("e2e smoke: pulumi up / preview / destroy against kube-apiserver + kwok", function () {
    this.timeout(10 * 60_000);
    const namespace = `smoke-${process.pid}`;
    let stack: Stack;
    let core: k8s.CoreV1Api;
    let apps: k8s.AppsV1Api;
    let destroyed = false;

    before(async function () {
        const env = e2eEnv();
        const kc = new k8s.KubeConfig();
        kc.loadFromString(env.kubeconfig);
        core = kc.makeApiClient(k8s.CoreV1Api);
        apps = kc.makeApiClient(k8s.AppsV1Api);
        const workDir = path.join(env.runDir, "smoke");
        fs.mkdirSync(workDir, { recursive: true });
        stack = await LocalWorkspace.createOrSelectStack(
            { stackName: "smoke", projectName: "pulumi-canary-smoke", program: smokeProgram({ kubeconfig: env.kubeconfig, namespace }) },
            { workDir, pulumiCommand: env.pulumiCommand, envVars: env.envVars },
        );
    });

    after(async function () {
        // A failed test must not leave the objects behind on an external (kind) cluster.
        if (stack !== undefined && !destroyed) {
            await stack.destroy().catch((e) => process.stderr.write(`smoke: cleanup destroy failed: ${e}\n`));
        }
    });

    it("up creates the namespace, an Available deployment and a service through the provider process", async function () {
        const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });

        assert.strictEqual(up.summary.result, "succeeded");
        assert.deepStrictEqual(up.summary.resourceChanges, { create: 5 });
        // The dynamic provider ran in its own process, started by the engine through the shim.
        const argv = up.outputs.providerArgv.value as string[];
        assert.notStrictEqual(up.outputs.providerPid.value, process.pid);
        assert.notStrictEqual(up.outputs.providerPpid.value, process.pid);
        assert.match(argv[1], /@pulumi\/pulumi\/cmd\/dynamic-provider\/index\.js$/);
        // The kubeconfig went in as a secret and stays one in the state file on disk
        // (exportStack() would show it decrypted: the Automation API exports with --show-secrets).
        const stateFile = stackStateFile(e2eEnv().envVars.PULUMI_BACKEND_URL);
        const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
        const deploymentState = state.checkpoint.latest.resources.find((r: { urn: string }) => r.urn.endsWith("::deployment"));
        assert.strictEqual(deploymentState.outputs.kubeconfig[SECRET_SIG[0]], SECRET_SIG[1]);
        assert.ok(!fs.readFileSync(stateFile, "utf8").includes("client-key-data"), `the kubeconfig is in clear in ${stateFile}`);
        // What the API server says, read from this process.
        const ns = await core.readNamespace({ name: namespace });
        assert.strictEqual(ns.metadata?.uid, up.outputs.namespaceUid.value);
        const deployment = await apps.readNamespacedDeployment({ name: APP, namespace });
        assert.strictEqual(deployment.status?.readyReplicas, REPLICAS);
        assert.ok(deployment.status?.conditions?.some((c) => c.type === "Available" && c.status === "True"));
        const service = await core.readNamespacedService({ name: APP, namespace });
        assert.strictEqual(service.metadata?.uid, up.outputs.serviceUid.value);
        assert.deepStrictEqual(service.spec?.selector, { app: APP });
    });

    it("preview after up reports no changes", async function () {
        const preview = await stack.preview();

        assert.deepStrictEqual(preview.changeSummary, { same: 5 });
    });

    it("destroy leaves the namespace gone from the API server", async function () {
        const destroy = await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
        destroyed = true;

        assert.deepStrictEqual(destroy.summary.resourceChanges, { delete: 5 });
        await assert.rejects(core.readNamespace({ name: namespace }),
            (e: unknown) => e instanceof k8s.ApiException && e.code === 404);
    });
});
