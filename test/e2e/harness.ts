// The e2e tier's harness, loaded by `npm run test:e2e` as a mocha root-hook plugin
// (`--require test/e2e/harness.ts`). Before any e2e test it starts one cluster with
// scripts/cluster-up.sh (etcd, kube-apiserver, controller-manager, scheduler, kwok) from the
// toolchain that `npm run toolchain` built; after the run, on a failure, on SIGINT/SIGTERM
// and at process exit it stops it with scripts/cluster-down.sh (by recorded pid).
//
// A workstation with a Pulumi CLI and a kind (or any) cluster can use those instead:
//   E2E_KUBECONFIG=~/.kube/config E2E_PULUMI=$(command -v pulumi) npm run test:e2e
// The toolchain is then not needed and no cluster is started or stopped.
//
// A missing toolchain fails the run (it never skips): run `npm run toolchain`.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { clusterDown, clusterUp, pulumiEnv } from "../../scripts/lib/pulumi-env";


/** Everything an e2e test needs to drive the real CLI against the run's cluster. */
export interface E2eEnv {
    /** Path of a kubeconfig with cluster-admin rights. */
    readonly kubeconfigPath: string;
    /** The kubeconfig's YAML, to pass to a program as a secret input. */
    readonly kubeconfig: string;
    /** The Pulumi CLI (its `command` is the binary). */
    readonly pulumiCommand: PulumiCommand;
    /** Environment for the CLI: PATH, PULUMI_HOME, backend, passphrase. */
    readonly envVars: Record<string, string>;
    /** A directory for this run's stacks (work dirs), removed after the run. */
    readonly runDir: string;
    /** True when the cluster and CLI came from E2E_KUBECONFIG / E2E_PULUMI. */
    readonly external: boolean;
}

let env: E2eEnv | undefined;
let clusterDir: string | undefined;
let runDir: string | undefined;

/** The run's environment; throws when the harness was not loaded as a root-hook plugin. */
export function e2eEnv(): E2eEnv {
    if (env === undefined) {
        throw new Error("the e2e harness did not run: use `npm run test:e2e` (mocha --require test/e2e/harness.ts)");
    }
    return env;
}

function stopCluster(): void {
    if (clusterDir === undefined) {
        return;
    }
    const dir = clusterDir;
    clusterDir = undefined;
    clusterDown(dir);
}

function removeRunDir(): void {
    if (runDir !== undefined) {
        fs.rmSync(runDir, { recursive: true, force: true });
        runDir = undefined;
    }
}

function onSignal(signal: NodeJS.Signals): void {
    process.stderr.write(`\ne2e harness: ${signal}: stopping the cluster\n`);
    try {
        stopCluster();
    } finally {
        removeRunDir();
        process.exit(signal === "SIGINT" ? 130 : 143);
    }
}

async function setUp(): Promise<E2eEnv> {
    const externalKubeconfig = process.env.E2E_KUBECONFIG;
    const externalPulumi = process.env.E2E_PULUMI;
    if ((externalKubeconfig === undefined) !== (externalPulumi === undefined)) {
        throw new Error("set both E2E_KUBECONFIG and E2E_PULUMI (an existing cluster and Pulumi CLI), or neither");
    }
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-canary-e2e-"));
    const pulumi = await pulumiEnv(runDir, "e2e-only-passphrase", externalPulumi,
        "set E2E_KUBECONFIG and E2E_PULUMI to use an existing cluster and Pulumi CLI");
    if (externalKubeconfig !== undefined) {
        return { kubeconfigPath: externalKubeconfig, kubeconfig: fs.readFileSync(externalKubeconfig, "utf8"), ...pulumi, runDir, external: true };
    }

    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", () => {
        stopCluster();
        removeRunDir();
    });
    clusterDir = path.join(runDir, "cluster");
    const kubeconfigPath = clusterUp(clusterDir);
    return { kubeconfigPath, kubeconfig: fs.readFileSync(kubeconfigPath, "utf8"), ...pulumi, runDir, external: false };
}

export const mochaHooks = {
    async beforeAll(this: Mocha.Context): Promise<void> {
        this.timeout(5 * 60_000);
        env = await setUp();
    },
    afterAll(this: Mocha.Context): void {
        this.timeout(2 * 60_000);
        try {
            stopCluster();
        } finally {
            removeRunDir();
        }
    },
};
