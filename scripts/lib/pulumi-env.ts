// What the e2e harness, the demo and the bench share: running our shell scripts, finding the
// Go-built toolchain, and the environment a Pulumi CLI (the toolchain's, or an installed one)
// runs in with a local file backend.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PulumiCommand } from "@pulumi/pulumi/automation";

export const repoRoot = path.resolve(__dirname, "..", "..");

/** Runs scripts/<script>; stdout carries the value, the script's progress lines go to our stderr. */
export function runScript(script: string, args: string[], extraEnv: Record<string, string>): string {
    return execFileSync("bash", [path.join(repoRoot, "scripts", script), ...args], {
        cwd: repoRoot,
        env: { ...process.env, ...extraEnv },
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
    }).trim();
}

/** The toolchain's root directory, or an error that says how to build it (and `alternative`). */
export function toolchainRoot(alternative: string): string {
    try {
        return runScript("toolchain.sh", ["--check"], {});
    } catch {
        throw new Error(`the local toolchain is missing: run \`npm run toolchain\` (about 18 minutes from a cold Go cache on 2 cores), or ${alternative}`);
    }
}

/** Starts the local cluster in clusterDir; returns the kubeconfig's path. */
export function clusterUp(clusterDir: string): string {
    return runScript("cluster-up.sh", [], { CANARY_CLUSTER_DIR: clusterDir }).split("\n").pop() ?? "";
}

/** Stops exactly the processes cluster-up recorded in clusterDir. */
export function clusterDown(clusterDir: string): void {
    runScript("cluster-down.sh", [], { CANARY_CLUSTER_DIR: clusterDir });
}

export interface PulumiEnv {
    readonly pulumiCommand: PulumiCommand;
    /** Environment for the CLI: PATH, PULUMI_HOME, backend, passphrase. */
    readonly envVars: Record<string, string>;
}

/**
 * A Pulumi CLI and its environment: `externalPulumi` (an installed CLI) when given, else the
 * toolchain's (its PULUMI_HOME holds the locally built plugins: no download is attempted).
 * The file backend's state lives in runDir/state.
 */
export async function pulumiEnv(runDir: string, passphrase: string, externalPulumi: string | undefined, toolchainHint: string): Promise<PulumiEnv> {
    const stateDir = path.join(runDir, "state");
    fs.mkdirSync(stateDir, { recursive: true });
    // the dynamic-provider shim pulumi-resource-pulumi-nodejs ships in the npm package
    const shimDir = path.join(repoRoot, "node_modules", "@pulumi", "pulumi");
    const common = {
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    if (externalPulumi !== undefined) {
        // PulumiCommand wants <root>/bin/pulumi: give it one that points at the installed CLI
        const root = path.join(runDir, "pulumi");
        fs.mkdirSync(path.join(root, "bin"), { recursive: true });
        fs.symlinkSync(path.resolve(externalPulumi), path.join(root, "bin", "pulumi"));
        return {
            pulumiCommand: await PulumiCommand.get({ root, skipVersionCheck: true }),
            envVars: { ...common, PATH: [path.dirname(path.resolve(externalPulumi)), shimDir, process.env.PATH].join(":") },
        };
    }
    const root = toolchainRoot(toolchainHint);
    return {
        // the CLI was built with its version stamped, so the Automation API's check applies
        pulumiCommand: await PulumiCommand.get({ root }),
        envVars: {
            ...common,
            PULUMI_HOME: path.join(root, "pulumi-home"),
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PATH: [path.join(root, "bin"), shimDir, process.env.PATH].join(":"),
        },
    };
}
