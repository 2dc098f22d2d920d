// npm run demo: the main job on the embedded default, end to end, in a few minutes.
//
// On a local Kubernetes control plane (scripts/cluster-up.sh: kube-apiserver + kwok; or the
// cluster of DEMO_KUBECONFIG), the project itself (index.ts, a stack file of its own) goes
// through three real `pulumi up`s of the CLI, its output streamed live:
//   1. podinfo 6.5.3: the stack is installed (ingress-nginx from the local chart, Prometheus,
//      the loadtester) and the app initialized (no analysis, all traffic on the primary)
//   2. podinfo 6.5.4: healthy canary, analysed step by step under real traffic, promoted
//   3. podinfo 6.5.5: the canary answers 10% 500s: rolled back, `up` fails with the reason
// kwok runs no pods: the e2e tier's host data plane (test/e2e/dataplane) runs the app
// processes, an NGINX configured from the Ingresses the release writes, Prometheus and the
// loadtester, so the metrics follow the weights. Then a summary read from the cluster.
// Everything started is stopped at the end and on Ctrl-C.
//
// Options (environment): DEMO_KUBECONFIG, DEMO_PULUMI (an existing cluster / Pulumi CLI),
// DEMO_INTERVAL_SECONDS (default 2).
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import { startDataPlane } from "../test/e2e/dataplane";
import { APP, IMAGES, currentContext, image, localAnalysis, localStackConfig } from "./lib/local-release";
import { TimedLine, banner, lineRecorder, liveLines, onCleanup, plain, runMain, secondsSince, startLocalEnv } from "./lib/local-stack";
import { ProjectStack } from "./lib/project-stack";

const NAMESPACE = "test";
const INTERVAL_SECONDS = Number(process.env.DEMO_INTERVAL_SECONDS ?? "2");

const color = (code: number) => (s: string) => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = color(1);
const cyan = color(36);
const red = color(31);
const green = color(32);

const say = (line: string) => process.stdout.write(`${cyan("demo:")} ${line}\n`);

/** The CLI's note that the dynamic-provider shim comes from $PATH (the harness puts it there). */
const SHIM_WARNING = "warning: using pulumi-resource-pulumi-nodejs from $PATH";

/** The provider's progress lines ("[podinfo.test] - Advance ...") stand out in the stream. */
function echoCli(line: string): void {
    if (line.includes(SHIM_WARNING)) return;
    const isProgress = line.includes(`[${APP}.${NAMESPACE}]`);
    process.stdout.write(`  ${isProgress ? bold(line) : line}\n`);
}

interface ClusterView {
    readonly primaryImage: string;
    readonly primaryReady: string;
    readonly canaryImage: string;
    readonly canaryReplicas: number;
    /** The canary Ingress's canary-weight annotation, or "absent". */
    readonly canaryWeight: string;
}

async function readCluster(kubeconfig: string): Promise<ClusterView> {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfig);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const primary = await apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace: NAMESPACE });
    const canary = await apps.readNamespacedDeployment({ name: `${APP}-canary`, namespace: NAMESPACE });
    let canaryWeight = "absent";
    try {
        const ing = await net.readNamespacedIngress({ name: `${APP}-canary`, namespace: NAMESPACE });
        canaryWeight = ing.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"] ?? "absent";
    } catch (e) {
        if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
    }
    return {
        primaryImage: primary.spec?.template.spec?.containers[0]?.image ?? "?",
        primaryReady: `${primary.status?.readyReplicas ?? 0}/${primary.spec?.replicas ?? 0}`,
        canaryImage: canary.spec?.template.spec?.containers[0]?.image ?? "?",
        canaryReplicas: canary.spec?.replicas ?? 0,
        canaryWeight,
    };
}

function describe(v: ClusterView): string[] {
    return [
        `primary  ${APP}-primary runs ${bold(v.primaryImage)} (${v.primaryReady} ready), serves ${100 - (Number(v.canaryWeight) || 0)}% of traffic`,
        `canary   ${APP}-canary template ${v.canaryImage}, ${v.canaryReplicas} replicas, canary Ingress weight: ${v.canaryWeight}`,
    ];
}

interface ActResult {
    readonly ok: boolean;
    readonly seconds: string;
    readonly lines: TimedLine[];
    readonly error?: string;
}

async function act(stack: ProjectStack, tag: string, analysis: Record<string, unknown>): Promise<ActResult> {
    stack.setConfig({ "canary:image": image(tag), "canary:analysis": analysis });
    const rec = lineRecorder(echoCli);
    const r = await stack.up([], { onOutput: rec.onOutput });
    rec.flush();
    return { ok: r.code === 0, seconds: (r.ms / 1000).toFixed(1), lines: rec.lines, ...(r.code === 0 ? {} : { error: `pulumi up exited ${r.code}` }) };
}

/** The provider's reason for a failed release, as the CLI printed it. */
function failureReason(r: ActResult): string {
    const text = [...r.lines.map((l) => l.text), r.error ?? ""].join("\n");
    const m = /canary release of [^\n]* failed, all traffic is on the primary: [^\n]*/.exec(plain(text));
    return m?.[0] ?? "(no reason found in the CLI output)";
}

/** "Advance podinfo.test canary weight 25" lines of a run, in order (live ones: the CLI repeats them under Diagnostics). */
function weightsWalked(r: ActResult): number[] {
    const re = new RegExp(`Advance ${APP}\\.${NAMESPACE} canary weight (\\d+)`);
    return liveLines(r.lines).map((l) => re.exec(plain(l.text))).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
}

async function main(): Promise<number> {
    const started = Date.now();
    process.stdout.write(banner("pulumi-canary demo: the embedded default, a canary release inside `pulumi up`"));
    process.stdout.write([
        "This is the project's main job on its embedded default (NGINX routing, podinfo, Prometheus success-rate and",
        "P99 checks), shrunk to a short clock:",
        `  act 1  podinfo 6.5.3  first \`pulumi up\`: the stack is installed, ${APP}-primary takes all traffic, no analysis`,
        `  act 2  podinfo 6.5.4  healthy canary: weights 25 -> 50 -> 75 every ${INTERVAL_SECONDS}s under load, checks pass, promoted`,
        "  act 3  podinfo 6.5.5  the canary answers 10% 500s (< 99% success): rolled back, `pulumi up` fails with the reason",
        "Each act is a real `pulumi up` of this repository's index.ts against a local Kubernetes API server with",
        "simulated nodes (kwok). A host data plane plays the pods: test app processes per Deployment, a real NGINX",
        "configured from the Ingresses the release writes, `hey` started by the load-test webhook, a real Prometheus.",
        "The lines in bold are the release provider's own progress lines.",
        "",
    ].join("\n"));

    const env = await startLocalEnv("demo", say);
    const dir = path.join(env.runDir, "dataplane");
    fs.mkdirSync(dir);
    say("starting the host data plane (NGINX, Prometheus, the loadtester; app processes on demand)");
    const dp = await startDataPlane({ kubeconfig: env.kubeconfig, namespace: NAMESPACE, dir, images: IMAGES, seed: 1 });
    onCleanup("stop the data plane", () => dp.stop());
    say(`Prometheus at ${dp.prometheusUrl}, loadtester at ${dp.loadtesterUrl}, ingress at ${dp.ingressUrl}`);
    const stack = new ProjectStack(`demo-${process.pid}`, env.pulumiCommand.command, env.envVars);
    await stack.init();
    onCleanup("remove the demo stack", async () => {
        if (env.external) {
            // an existing cluster keeps nothing from the demo
            say("destroying the demo stack (existing cluster)");
            await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
        }
        await stack.remove();
    });
    const kubeContext = currentContext(env.kubeconfig);
    stack.setConfig(localStackConfig({ kubeContext, prometheusUrl: dp.prometheusUrl, namespace: NAMESPACE }));
    await stack.setSecret("canary:kubeconfig", env.kubeconfig);
    const analysis = localAnalysis({ loadtesterUrl: dp.loadtesterUrl, namespace: NAMESPACE, intervalSeconds: INTERVAL_SECONDS, stepWeight: 25, maxWeight: 75 });

    process.stdout.write(banner("Act 1/3: first `pulumi up` with podinfo 6.5.3: initialization, no analysis"));
    const init = await act(stack, "6.5.3", analysis);
    if (!init.ok) throw new Error(`act 1: pulumi up failed: ${init.error}`);
    const afterInit = await readCluster(env.kubeconfig);
    say(`act 1 done in ${init.seconds}s`);
    for (const l of describe(afterInit)) say(l);

    process.stdout.write(banner(`Act 2/3: podinfo 6.5.4, a good release: analysed every ${INTERVAL_SECONDS}s, promoted`));
    say("the 6.5.4 test app answers every request");
    const good = await act(stack, "6.5.4", analysis);
    if (!good.ok) throw new Error(`act 2: the good release failed: ${failureReason(good)}`);
    const afterGood = await readCluster(env.kubeconfig);
    say(`act 2 done in ${good.seconds}s: ${green("promoted")}, weights walked: ${weightsWalked(good).join(" -> ")}`);
    for (const l of describe(afterGood)) say(l);

    process.stdout.write(banner("Act 3/3: podinfo 6.5.5, a bad release: the canary fails its success-rate check, rolled back"));
    say("the 6.5.5 test app answers 10% of requests with 500, at random (the check wants >= 99% success)");
    const bad = await act(stack, "6.5.5", analysis);
    const afterBad = await readCluster(env.kubeconfig);
    say(`act 3 done in ${bad.seconds}s: \`pulumi up\` ${bad.ok ? red("SUCCEEDED (unexpected)") : "failed, as it should"}`);

    process.stdout.write(banner("Summary"));
    const rows: [string, string][] = [
        ["act 1  6.5.3 initialize", `${init.ok ? "succeeded" : "failed"} in ${init.seconds}s; primary runs ${afterInit.primaryImage}`],
        ["act 2  6.5.4 good", `${good.ok ? green("promoted") : red("failed")} in ${good.seconds}s; canary weights ${weightsWalked(good).join(" -> ")}; primary runs ${afterGood.primaryImage}`],
        ["act 3  6.5.5 bad", `${bad.ok ? red("promoted (unexpected)") : red("rolled back")} in ${bad.seconds}s; canary weights ${weightsWalked(bad).join(" -> ") || "none"}`],
    ];
    for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(26)} ${v}\n`);
    process.stdout.write("\n  Now, read from the cluster:\n");
    for (const l of describe(afterBad)) process.stdout.write(`    ${l}\n`);
    if (!bad.ok) process.stdout.write(`\n  Why act 3 failed (the provider's error, which fails \`pulumi up\`):\n    ${failureReason(bad)}\n`);
    const expected = init.ok && good.ok && !bad.ok && afterBad.primaryImage === image("6.5.4") &&
        afterBad.canaryReplicas === 0 && (afterBad.canaryWeight === "absent" || afterBad.canaryWeight === "0");
    process.stdout.write(`\n  ${expected ? green("As expected:") : red("NOT as expected:")} the primary still runs 6.5.4, all traffic on it, canary at 0 replicas.\n`);
    process.stdout.write(`  Total demo time ${secondsSince(started)}s (cluster and Prometheus start included). Stopping everything.\n`);
    return expected ? 0 : 1;
}

runMain("demo", main);
