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
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PulumiCommand } from "@pulumi/pulumi/automation";

const repoRoot = path.resolve(__dirname, "..", "..");

/** Everything an e2e test needs to drive the real CLI against the run's cluster. */
export interface E2eEnv {
    /** Path of a kubeconfig with cluster-admin rights. */
    readonly kubeconfigPath: string;
    /** The kubeconfig's YAML, to pass to a program as a secret input. */
    readonly kubeconfig: string;
    /** The Pulumi CLI to drive with the Automation API. */
    readonly pulumiCommand: PulumiCommand;
    /** Environment for LocalWorkspace: PATH, PULUMI_HOME, backend, passphrase. */
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

function sh(script: string, args: string[], extraEnv: Record<string, string>): string {
    return execFileSync("bash", [path.join(repoRoot, "scripts", script), ...args], {
        cwd: repoRoot,
        env: { ...process.env, ...extraEnv },
        // stdout carries the value; the scripts' progress lines go to our stderr.
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
    }).trim();
}

/** The toolchain's root directory, or an error that says how to build it. */
function toolchainRoot(): string {
    try {
        return sh("toolchain.sh", ["--check"], {});
    } catch {
        throw new Error("e2e toolchain missing: run `npm run toolchain` (about 13 minutes from a cold Go cache on 2 cores), " +
            "or set E2E_KUBECONFIG and E2E_PULUMI to use an existing cluster and Pulumi CLI");
    }
}

function stopCluster(): void {
    if (clusterDir === undefined) {
        return;
    }
    const dir = clusterDir;
    clusterDir = undefined;
    sh("cluster-down.sh", [], { CANARY_CLUSTER_DIR: dir });
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
    const stateDir = path.join(runDir, "state");
    fs.mkdirSync(stateDir);
    const common = {
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "e2e-only-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // Dynamic providers require() their modules from the program's directory, which is a
        // temporary work dir: let them resolve from the repo's node_modules.
        NODE_PATH: path.join(repoRoot, "node_modules"),
    };
    // The dynamic-provider shim pulumi-resource-pulumi-nodejs ships in the npm package.
    const shimDir = path.join(repoRoot, "node_modules", "@pulumi", "pulumi");

    if (externalKubeconfig !== undefined && externalPulumi !== undefined) {
        // PulumiCommand wants <root>/bin/pulumi: give it one that points at E2E_PULUMI.
        const root = path.join(runDir, "pulumi");
        fs.mkdirSync(path.join(root, "bin"), { recursive: true });
        fs.symlinkSync(path.resolve(externalPulumi), path.join(root, "bin", "pulumi"));
        return {
            kubeconfigPath: externalKubeconfig,
            kubeconfig: fs.readFileSync(externalKubeconfig, "utf8"),
            pulumiCommand: await PulumiCommand.get({ root, skipVersionCheck: true }),
            envVars: { ...common, PATH: [path.dirname(path.resolve(externalPulumi)), shimDir, process.env.PATH].join(":") },
            runDir,
            external: true,
        };
    }

    const root = toolchainRoot();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", () => {
        stopCluster();
        removeRunDir();
    });
    clusterDir = path.join(runDir, "cluster");
    const kubeconfigPath = sh("cluster-up.sh", [], { CANARY_CLUSTER_DIR: clusterDir }).split("\n").pop() ?? "";
    return {
        kubeconfigPath,
        kubeconfig: fs.readFileSync(kubeconfigPath, "utf8"),
        // The CLI was built with its version stamped, so the Automation API's check applies.
        pulumiCommand: await PulumiCommand.get({ root }),
        envVars: {
            ...common,
            PULUMI_HOME: path.join(root, "pulumi-home"),
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PATH: [path.join(root, "bin"), shimDir, process.env.PATH].join(":"),
        },
        runDir,
        external: false,
    };
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
