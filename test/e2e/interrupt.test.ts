// e2e interruptions: a `pulumi up` of index.ts interrupted through the real CLI, as a user or a
// CI runner does it, at each phase of a release. The signal goes to the CLI's process group
// (a terminal's Ctrl-C): once (Pulumi cancels: in-flight steps finish, no new step starts),
// twice (Pulumi terminates: it stops its plugins with SIGINT, then SIGKILL after 5 s), or
// SIGKILL (a runner killed hard: the plugins are orphaned). Between the interrupted up and the
// next one the test polls, from outside the product, the canary Ingress the API server holds
// and the provider processes in the process list: once no provider process runs, no traffic
// may be on the canary. Then `pulumi cancel` where the kill left a lock, and a `pulumi up` that
// must converge: the new image promoted, all traffic on the primary, the canary at zero.
//
// The release is slowed where a phase would be too short to hit: a 3 s pre-rollout hook and a
// 4 s post-rollout hook (the finalizer runs post-rollout hooks), both `hey` runs of the
// loadtester, so that the test sees them running.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CliResult, ProjectStack } from "../../scripts/lib/project-stack";
import { DataPlane, startDataPlane } from "./dataplane";
import { e2eEnv } from "./harness";
import { IMAGES, currentContext, image, localAnalysis, localStackConfig } from "../../scripts/lib/local-release";
import {
    Kube, alive, canaryIngressWeight, commandLine, deployment, descendants, kill, killAll, kube, projectStack, releaseEvents, sleep,
} from "./stack";

const NS = "interrupt";
const APP = "podinfo";
const log = (s: string) => process.stdout.write(s);

type Kind = "SIGINT" | "SIGINT twice" | "SIGKILL";
const KINDS: readonly Kind[] = ["SIGINT", "SIGINT twice", "SIGKILL"];

/** What the test sees of a running up, to tell which phase the release is in. */
interface Observed {
    readonly events: readonly string[];
    readonly weight: number;
    /** Commands the loadtester is running now. */
    readonly running: readonly string[];
}

const PRE_ROLLOUT = "hey -z 3s -q 5 -c 1";
const POST_ROLLOUT = "hey -z 4s -q 5 -c 1";

const PHASES: readonly { readonly name: string; readonly reached: (o: Observed) => boolean }[] = [
    { name: "scaling up", reached: (o) => o.events.some((m) => /^New revision detected! Scaling up/.test(m)) },
    { name: "pre-rollout hook", reached: (o) => o.running.some((c) => c.startsWith(PRE_ROLLOUT)) },
    { name: "mid-ladder", reached: (o) => o.weight > 0 },
    { name: "promotion", reached: (o) => o.events.some((m) => /^Copying podinfo\.interrupt template spec/.test(m)) },
    { name: "finalization", reached: (o) => o.running.some((c) => c.startsWith(POST_ROLLOUT)) },
];

interface Row {
    readonly phase: string;
    readonly kind: Kind;
    /** ms from the (last) signal until no provider process ran and the canary had no weight. */
    readonly settledMs: number;
    /** ms from the (last) signal until the canary Ingress had weight 0 for good. */
    readonly weightZeroMs: number;
    readonly providers: number;
    readonly converge: string;
}

describe("e2e interrupt: Ctrl-C (once, twice) and SIGKILL to the real CLI at each phase of a release", function () {
    this.timeout(30 * 60_000);
    let k: Kube;
    let dp: DataPlane;
    let stack: ProjectStack;
    let tag = "6.5.3";
    const rows: Row[] = [];
    const strays: number[] = [];

    /** Flagger's walkthrough analysis on a 2 s clock, one step of 50%, with slow pre- and post-rollout hooks. */
    function analysis(): Record<string, unknown> {
        const a = localAnalysis({ loadtesterUrl: dp.loadtesterUrl, namespace: NS, intervalSeconds: 2, stepWeight: 50, maxWeight: 50 });
        const slow = (name: string, type: string, cmd: string) => ({ name, type, url: `${dp.loadtesterUrl}/`, timeout: "15s", metadata: { type: "bash", cmd } });
        return {
            ...a,
            webhooks: [
                slow("slow-pre-rollout", "pre-rollout", `${PRE_ROLLOUT} http://${APP}-canary.${NS}:9898/`),
                ...(a.webhooks as unknown[]),
                slow("slow-post-rollout", "post-rollout", `${POST_ROLLOUT} http://${APP}-primary.${NS}:9898/`),
            ],
        };
    }

    const weight = () => canaryIngressWeight(k, NS, APP);

    before(async function () {
        const env = e2eEnv();
        k = kube(env);
        const dir = path.join(env.runDir, "interrupt-dataplane");
        fs.mkdirSync(dir, { recursive: true });
        dp = await startDataPlane({ kubeconfig: env.kubeconfig, namespace: NS, dir, images: IMAGES, seed: 11 });
        stack = projectStack(env, "interrupt");
        await stack.init();
        stack.setConfig({
            ...localStackConfig({ kubeContext: currentContext(env.kubeconfig), prometheusUrl: dp.prometheusUrl, namespace: NS }),
            "canary:image": image(tag),
            "canary:analysis": analysis(),
        });
        await stack.setSecret("canary:kubeconfig", env.kubeconfig);
        const r = await stack.up([], { onOutput: log });
        assert.strictEqual(r.code, 0, `the first up failed:\n${r.out.slice(-4000)}`);
    });

    after(async function () {
        this.timeout(5 * 60_000);
        killAll(strays);
        try {
            if (rows.length > 0) {
                log(`\ninterrupts (ms from the last signal until no provider runs and the canary has no weight):\n${rows.map((r) =>
                    `  ${r.kind.padEnd(12)} at ${r.phase.padEnd(16)} settled ${String(r.settledMs).padStart(6)}  weight 0 after ${String(r.weightZeroMs).padStart(6)}  providers ${r.providers}  next up: ${r.converge}`).join("\n")}\n`);
                for (const kind of KINDS) {
                    const of = rows.filter((r) => r.kind === kind);
                    if (of.length > 0) log(`interrupts: ${kind}: longest ${Math.max(...of.map((r) => r.settledMs))} ms until settled over ${of.length} phases\n`);
                }
            }
            if (stack !== undefined) {
                await stack.run(["cancel", "--yes"]);
                const r = await stack.destroy({ onOutput: log });
                if (r.code !== 0) process.stderr.write(`interrupt: cleanup destroy failed (exit ${r.code})\n`);
                await stack.remove();
            }
        } finally {
            await dp?.stop();
        }
    });

    /** Starts an up of the next image, signals its CLI's group once `phase` is reached, and follows it to the end. */
    async function interrupt(phase: (typeof PHASES)[number], kind: Kind): Promise<Omit<Row, "converge">> {
        tag = tag === "6.5.3" ? "6.5.4" : "6.5.3";
        stack.setConfig({ "canary:image": image(tag), "canary:analysis": analysis() });
        const events0 = (await releaseEvents(k, NS)).length;
        const runs0 = dp.loadtester.runs.length;
        const { child, result } = stack.start(["up", "--yes", "--skip-preview"], { onOutput: log });
        const pid = child.pid as number;
        strays.push(pid);
        let exited = false;
        void result.then(() => (exited = true));
        const providers = new Set<number>();
        const track = () => {
            for (const p of descendants(pid)) if (commandLine(p).includes("dynamic-provider")) providers.add(p);
        };

        // wait for the phase
        const t0 = Date.now();
        for (;;) {
            track();
            const observed: Observed = {
                events: (await releaseEvents(k, NS)).slice(events0),
                weight: await weight(),
                running: dp.loadtester.runs.slice(runs0).filter((r) => r.endedAt === undefined).map((r) => r.argv.join(" ")),
            };
            // an up that ended meanwhile cannot be interrupted any more: seeing the phase now is too late
            // (the message awaits the result: only once it has ended)
            if (exited) assert.fail(`the up of ${tag} ended before the phase "${phase.name}" was seen:\n${(await result).out.slice(-3000)}`);
            if (phase.reached(observed)) break;
            assert.ok(Date.now() - t0 < 120_000, `phase "${phase.name}" not reached within 120 s`);
            await sleep(50);
        }
        track();
        const plugins = descendants(pid);
        strays.push(...plugins);

        let tSignal = Date.now();
        if (kind === "SIGKILL") {
            kill(-pid);
        } else {
            kill(-pid, "SIGINT");
            if (kind === "SIGINT twice") {
                await sleep(500);
                kill(-pid, "SIGINT");
            }
        }
        tSignal = Date.now();

        // follow it from outside until the CLI and every provider process are gone
        const violations: string[] = [];
        let weightZeroAt: number | undefined;
        let settledAt: number | undefined;
        for (;;) {
            const running = [...providers].filter(alive);
            const w = await weight();
            const now = Date.now();
            if (w > 0) weightZeroAt = undefined;
            else weightZeroAt ??= now;
            if (running.length === 0 && w > 0) violations.push(`${now - tSignal} ms: canary weight ${w} with no provider process running`);
            if (running.length === 0 && exited) {
                settledAt = now;
                break;
            }
            assert.ok(now - tSignal < 180_000, `180 s after ${kind}: CLI exited ${exited}, providers still running: ${running.join(", ")}`);
            await sleep(50);
        }
        // a SIGKILLed CLI leaves Pulumi's own plugins (language host, Kubernetes provider) behind: stopped by pid
        killAll(plugins.filter(alive));
        assert.deepStrictEqual(violations, [], `${kind} at ${phase.name}: traffic on an unwatched canary`);
        assert.strictEqual(await weight(), 0);
        return { phase: phase.name, kind, settledMs: settledAt - tSignal, weightZeroMs: (weightZeroAt ?? settledAt) - tSignal, providers: providers.size };
    }

    /** The next up converges: `pulumi cancel` first when a killed CLI left its lock. */
    async function converge(): Promise<string> {
        let r: CliResult = await stack.up([], { onOutput: log });
        let how = "up";
        if (r.code !== 0 && /locked/.test(r.out)) {
            await stack.run(["cancel", "--yes"]);
            r = await stack.up([], { onOutput: log });
            how = "cancel, up";
        }
        assert.strictEqual(r.code, 0, `the up after the interruption failed:\n${r.out.slice(-4000)}`);
        const analysed = /New revision detected|new revision [0-9a-f]{12}/.test(r.out) ? " (analysed again)" : "";
        assert.deepStrictEqual(await deployment(k, NS, `${APP}-primary`), { image: image(tag), replicas: 2, ready: 2 });
        assert.strictEqual((await deployment(k, NS, `${APP}-canary`)).replicas, 0);
        assert.strictEqual(await weight(), 0);
        assert.strictEqual((await stack.outputs()).phase, "Succeeded");
        return `${how}${analysed}`;
    }

    for (const phase of PHASES) {
        for (const kind of KINDS) {
            it(`${kind} at ${phase.name}: no canary weight once no provider runs; the next up converges`, async function () {
                const row = await interrupt(phase, kind);
                rows.push({ ...row, converge: await converge() });
            });
        }
    }
});
