// What `npm run demo` and `npm run bench` share: a local Kubernetes control plane (kube-apiserver
// + kwok from scripts/cluster-up.sh, or an existing cluster), the Go-built Pulumi CLI with a
// local file backend (the stacks themselves: project-stack.ts), and cleanups. Everything
// started here is stopped here, by pid: at the end, on an error, on SIGINT/SIGTERM and at
// process exit.
//
// An existing cluster and CLI (a workstation with kind) can be used instead:
//   DEMO_KUBECONFIG=~/.kube/config [DEMO_PULUMI=$(command -v pulumi)] npm run demo
// No cluster is then started or stopped. Without DEMO_PULUMI the toolchain's CLI is used.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { clusterDown, clusterUp, pulumiEnv, repoRoot } from "./pulumi-env";

export { repoRoot };

/** Everything a script needs to drive the real CLI against the cluster. */
export interface LocalEnv {
    readonly kubeconfigPath: string;
    readonly kubeconfig: string;
    readonly pulumiCommand: PulumiCommand;
    /** Environment for the CLI: PATH, PULUMI_HOME, backend, passphrase. */
    readonly envVars: Record<string, string>;
    /** This run's scratch directory (state backend, work dirs, Prometheus TSDB); removed at the end. */
    readonly runDir: string;
    /** True when the cluster came from DEMO_KUBECONFIG. */
    readonly external: boolean;
}

/** Cleanups registered by the run, last registered first. */
const cleanups: { name: string; fn: () => void | Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;

/** Registers a cleanup to run at the end, on SIGINT/SIGTERM, or on an error. */
export function onCleanup(name: string, fn: () => void | Promise<void>): void {
    cleanups.push({ name, fn });
}

/** Runs every registered cleanup once (last registered first); safe to call twice. */
export function cleanUp(): Promise<void> {
    cleaning ??= (async () => {
        while (cleanups.length > 0) {
            const c = cleanups.pop();
            if (c === undefined) break;
            try {
                await c.fn();
            } catch (e) {
                process.stderr.write(`cleanup: ${c.name} failed: ${e instanceof Error ? e.message : String(e)}\n`);
            }
        }
    })();
    return cleaning;
}

/**
 * Runs `main` with cleanups on every way out. SIGINT/SIGTERM: the CLI child gets the signal
 * from the terminal too; we stop what we started and exit 130/143.
 */
export function runMain(tag: string, main: () => Promise<number>): void {
    const onSignal = (signal: NodeJS.Signals) => {
        process.stderr.write(`\n${tag}: ${signal}: stopping what this run started\n`);
        void cleanUp().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    main().then(
        async (code) => {
            await cleanUp();
            process.exit(code);
        },
        async (e: unknown) => {
            process.stderr.write(`\n${tag}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
            await cleanUp();
            process.exit(1);
        },
    );
}

/** The cluster and CLI: starts the local cluster unless DEMO_KUBECONFIG names one. */
export async function startLocalEnv(tag: string, log: (line: string) => void): Promise<LocalEnv> {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `pulumi-canary-${tag}-`));
    onCleanup("remove the run directory", () => fs.rmSync(runDir, { recursive: true, force: true }));
    const externalKubeconfig = process.env.DEMO_KUBECONFIG;
    const { pulumiCommand, envVars } = await pulumiEnv(runDir, `${tag}-only-passphrase`, process.env.DEMO_PULUMI,
        "set DEMO_KUBECONFIG and DEMO_PULUMI to use an existing cluster and Pulumi CLI");

    let kubeconfigPath: string;
    if (externalKubeconfig !== undefined) {
        kubeconfigPath = externalKubeconfig;
        log(`using the cluster of DEMO_KUBECONFIG=${externalKubeconfig} (not started or stopped here)`);
    } else {
        const clusterDir = path.join(runDir, "cluster");
        // registered before starting: cluster-down.sh stops whatever cluster-up.sh recorded
        onCleanup("stop the local cluster", () => {
            log("stopping the local cluster (scripts/cluster-down.sh, by recorded pid)");
            clusterDown(clusterDir);
        });
        log("starting the local cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok (scripts/cluster-up.sh)");
        const t0 = Date.now();
        kubeconfigPath = clusterUp(clusterDir);
        log(`cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
    return {
        kubeconfigPath,
        kubeconfig: fs.readFileSync(kubeconfigPath, "utf8"),
        pulumiCommand,
        envVars,
        runDir,
        external: externalKubeconfig !== undefined,
    };
}

/** Seconds since `t0` (ms), one decimal. */
export function secondsSince(t0: number): string {
    return ((Date.now() - t0) / 1000).toFixed(1);
}

/** A bold banner line, plain when stdout is not a terminal. */
export function banner(text: string): string {
    const bar = "=".repeat(Math.max(20, Math.min(100, text.length + 4)));
    const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
    return `\n${bar}\n${bold(`  ${text}`)}\n${bar}\n`;
}

/** A line of CLI output and when this process received it (ms since epoch). */
export interface TimedLine {
    readonly at: number;
    readonly text: string;
}

/**
 * An `onOutput` callback that echoes the CLI's output live (through `echo`, per line) and
 * keeps every line with its arrival time, for the summary and for timings.
 */
export function lineRecorder(echo: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): { onOutput: (chunk: string) => void; lines: TimedLine[]; flush: () => void } {
    const lines: TimedLine[] = [];
    let partial = "";
    const emit = (text: string) => {
        lines.push({ at: Date.now(), text });
        echo(text);
    };
    return {
        lines,
        onOutput: (chunk: string) => {
            const parts = (partial + chunk).split("\n");
            partial = parts.pop() ?? "";
            for (const p of parts) emit(p);
        },
        flush: () => {
            if (partial !== "") emit(partial);
            partial = "";
        },
    };
}

/** The lines the CLI streamed while the update ran: those before its closing "Diagnostics:" recap. */
export function liveLines(lines: readonly TimedLine[]): TimedLine[] {
    const end = lines.findIndex((l) => plain(l.text).trim() === "Diagnostics:");
    return end < 0 ? [...lines] : lines.slice(0, end);
}

/** Text without ANSI colour codes. */
export function plain(text: string): string {
    return text.replace(/\x1b\[[0-9;]*m/g, "");
}
