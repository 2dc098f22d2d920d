// e2e faults: the project's stack (index.ts through the real CLI, language host and Kubernetes
// provider, app only: canary:install* false) on the run's kube-apiserver + kwok cluster, with
// its own host data plane, and three fault-injecting proxies of ours (faults/proxy.ts) between
// the release and what it talks to: kube-apiserver (canary:kubeconfig points at the proxy, so
// the Kubernetes provider and the release provider both go through it), Prometheus
// (canary:metricsServer) and the loadtester (every webhook URL). faults/table.ts says which
// fault is injected at which phase of which release, the outcome it must have and the text the
// product must report.
//
// Each release is one `pulumi up` of a new image. While it runs, the test watches the canary
// Ingress weight and the release's Events on the API server directly (not through the proxy)
// and arms each row's injection when its phase is seen. After it, from the API server: the
// primary's image, the canary's replicas and weight, the Warning Events; from the CLI: the exit
// code and every error/warning line. Counted over the suite, all measured:
//   injected          hits the proxies recorded, plus refused connections as the product
//                     reported them (nothing listens there to count them)
//   releases          ups run
//   false promotions  ups of a release expecting a rollback or a failure that exited 0 or
//                     left the new image on podinfo-primary
//   left on canary    ups after which the canary Ingress has weight or podinfo-canary replicas
//   unexplained       error/warning lines and Warning Events that match no text of the
//                     release's rows (nor what its expected outcome itself prints)
// It ends with `faults: N injected, N releases, N false promotions, N left on canary, N
// unexplained errors` and fails unless the last three are 0; each release asserts its rows.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CliResult, ProjectStack } from "../../scripts/lib/project-stack";
import { freePort } from "../integration/harness/process";
import { DataPlane, startDataPlane } from "./dataplane";
import { FaultProxy, kubeconfigUpstream, proxiedKubeconfig } from "./faults/proxy";
import { APP, BASELINE, CONSEQUENCES, HookUrls, REPLAYED_EVENT, NS, Outcome, ProxyName, Release, Row, Trigger, RELEASES, allRows, baseAnalysis, tableProblems } from "./faults/table";
import { e2eEnv } from "./harness";
import { IMAGES, currentContext, image } from "../../scripts/lib/local-release";
import { Kube, canaryIngressWeight, deployment, kube, projectStack, sleep } from "./stack";

const log = (s: string) => process.stdout.write(s);
/** Good tags of the data plane's test app, cycled so each release is a new image. */
const GOOD_TAGS = ["6.5.4", "6.5.6", "6.5.7", "6.5.8", "6.5.3"];
/** A CLI line that reports a problem: Pulumi's error and warning lines, the provider's `! ` lines. */
const PROBLEM_LINE = /\b(error|warning):|\] ! /;
/** A line the release provider printed while the up ran (the Diagnostics section repeats them). */
const LIVE_PROVIDER_LINE = /^\s*pulumi:pulumi:Stack \S+ running \[/;

/** The CLI output's problem lines, trimmed. */
const problemLines = (out: string) => out.split("\n").filter((l) => PROBLEM_LINE.test(l)).map((l) => l.trim());

interface ReleaseEvent {
    readonly name: string;
    readonly type: string;
    readonly message: string;
}

interface RowResult {
    readonly row: Row;
    readonly injected: number;
    readonly problems: readonly string[];
}

interface ReleaseResult {
    readonly release: Release;
    readonly tag: string;
    readonly outcome: Outcome | "exit 0 without promotion";
    readonly ms: number;
    readonly rows: readonly RowResult[];
    readonly falsePromotion: boolean;
    readonly leftOnCanary: string | undefined;
    readonly unexplained: readonly string[];
}

describe("e2e faults: Prometheus, the API server and webhooks failing at each phase of a release", function () {
    this.timeout(30 * 60_000);
    let k: Kube;
    let dp: DataPlane;
    let stack: ProjectStack;
    let proxies: Record<ProxyName, FaultProxy>;
    let urls: HookUrls;
    let primaryTag = "6.5.3";
    let released = 0;
    const results: ReleaseResult[] = [];
    /** Every Warning Event message of the release seen in the cluster so far. */
    const warningsSeen = new Set<string>();
    const t0 = Date.now();

    /** Every Event of the release (source pulumi-canary) in the namespace. */
    async function events(): Promise<ReleaseEvent[]> {
        const list = await k.core.listNamespacedEvent({ namespace: NS });
        return list.items
            .filter((e) => e.source?.component === "pulumi-canary")
            .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
            .map((e) => ({ name: e.metadata?.name ?? "", type: e.type ?? "", message: e.message ?? "" }));
    }

    /** The canary Ingress' weight; undefined while it does not exist. */
    const weight = () => canaryIngressWeight(k, NS, APP).catch(() => undefined);

    before(async function () {
        this.timeout(10 * 60_000);
        assert.deepStrictEqual(tableProblems(), []);
        const env = e2eEnv();
        k = kube(env);
        const dir = path.join(env.runDir, "faults-dataplane");
        fs.mkdirSync(dir, { recursive: true });
        dp = await startDataPlane({ kubeconfig: env.kubeconfig, namespace: NS, dir, images: IMAGES, seed: 5 });
        const { upstream, tls } = kubeconfigUpstream(env.kubeconfig);
        proxies = {
            apiserver: await FaultProxy.start({ name: "apiserver", upstream, tls }),
            prometheus: await FaultProxy.start({ name: "prometheus", upstream: dp.prometheusUrl }),
            hooks: await FaultProxy.start({ name: "hooks", upstream: dp.loadtesterUrl }),
        };
        urls = { hooks: proxies.hooks.url, dead: `http://127.0.0.1:${await freePort()}` };
        stack = projectStack(env, "faults");
        await stack.init();
        stack.setConfig({
            "canary:kubeContext": currentContext(env.kubeconfig),
            "canary:namespace": NS,
            "canary:metricsServer": proxies.prometheus.url,
            "canary:installIngressNginx": false, "canary:installPrometheus": false, "canary:installLoadtester": false,
            "canary:retry": true,
            "canary:image": image(primaryTag),
            "canary:analysis": baseAnalysis(urls, 2),
        });
        // both providers reach the API server only through the proxy, which holds the credentials
        await stack.setSecret("canary:kubeconfig", proxiedKubeconfig(env.kubeconfig, proxies.apiserver.url));
        const r = await stack.up([], { onOutput: log });
        assert.strictEqual(r.code, 0, `the first up failed:\n${r.out.slice(-4000)}`);
        // the warnings of a fault-free up are the baseline: nothing else, and each one seen
        const first = problemLines(r.out);
        assert.deepStrictEqual(first.filter((l) => !BASELINE.some((b) => b.line.test(l))), [], "the fault-free first up printed problems the baseline does not list");
        assert.deepStrictEqual(BASELINE.filter((b) => b.timing !== true && !first.some((l) => b.line.test(l))).map((b) => b.line.source), [], "baseline lines the fault-free first up did not print");
        assert.strictEqual((await deployment(k, NS, `${APP}-primary`)).image, image(primaryTag));
        assert.ok(proxies.apiserver.forwarded > 0, "the stack did not go through the API server proxy");
    });

    after(async function () {
        this.timeout(5 * 60_000);
        try {
            if (stack !== undefined) {
                for (const p of Object.values(proxies ?? {})) {
                    p.clear();
                    await p.up();
                }
                await stack.run(["cancel", "--yes"]);
                const r = await stack.destroy({ onOutput: log });
                if (r.code !== 0) process.stderr.write(`faults: cleanup destroy failed (exit ${r.code})\n`);
                await stack.remove();
            }
        } finally {
            for (const p of Object.values(proxies ?? {})) await p.stop();
            await dp?.stop();
        }
    });

    /** Arms `row`'s injection; returns how to disarm it (the up ended). */
    async function arm(row: Row): Promise<() => Promise<void>> {
        const inj = row.inject;
        switch (inj.kind) {
            case "rule": {
                const remove = proxies[inj.proxy].add({ name: row.id, match: inj.match, action: inj.action, skip: inj.skip, times: inj.times });
                return async () => remove();
            }
            case "down":
                await proxies[inj.proxy].down();
                return () => proxies[inj.proxy].up();
            case "dead hook":
                return async () => undefined;
        }
    }

    function fired(t: Trigger, w: number | undefined, seen: readonly ReleaseEvent[]): boolean {
        switch (t.at) {
            case "start": return true;
            case "weight": return w !== undefined && w >= t.weight;
            case "event": return seen.some((e) => t.match.test(e.message));
        }
    }

    /** Refused connections the product reported in its `! ` lines, to `port`, times each report's attempts. */
    function refusals(lines: readonly string[], port: number): number {
        let n = 0;
        const one = new RegExp(`connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)?( \\((\\d+) attempts\\))?`, "g");
        for (const l of lines.filter((x) => LIVE_PROVIDER_LINE.test(x) && /\] ! /.test(x))) {
            for (const m of l.matchAll(one)) n += m[2] === undefined ? 1 : Number(m[2]);
        }
        return n;
    }

    async function runRelease(release: Release): Promise<ReleaseResult> {
        // a new image each time: the next good tag in turn that the primary does not run
        let tag = GOOD_TAGS[released++ % GOOD_TAGS.length];
        if (tag === primaryTag) tag = GOOD_TAGS[released++ % GOOD_TAGS.length];
        const analysis = release.analysis?.(baseAnalysis(urls, release.threshold), urls) ?? baseAnalysis(urls, release.threshold);
        stack.setConfig({ "canary:image": image(tag), "canary:analysis": analysis });
        const before = new Set((await events()).map((e) => e.name));
        const hits0 = Object.fromEntries(Object.entries(proxies).map(([n, p]) => [n, p.hits.length])) as Record<ProxyName, number>;
        log(`\nfaults: release "${release.name}" of ${tag}: ${release.rows.map((r) => r.id).join(", ")}\n`);

        // arm what starts armed, then watch from outside for the others' phases
        const pending = new Map(release.rows.map((r) => [r.id, r]));
        const disarm: (() => Promise<void>)[] = [];
        const armedAt: Record<string, string> = {};
        const untils: { row: Row; until: Trigger; done: boolean }[] = [];
        const step = async (w: number | undefined, seen: readonly ReleaseEvent[]) => {
            for (const [id, row] of pending) {
                const trigger: Trigger = row.inject.kind === "dead hook" ? { at: "start" } : row.inject.arm;
                if (!fired(trigger, w, seen)) continue;
                pending.delete(id);
                armedAt[id] = `weight ${w ?? "none"}`;
                disarm.push(await arm(row));
                if (row.inject.kind === "down" && row.inject.until !== undefined) untils.push({ row, until: row.inject.until, done: false });
            }
            for (const u of untils) {
                if (!u.done && fired(u.until, w, seen) && u.row.inject.kind === "down") {
                    u.done = true;
                    await proxies[u.row.inject.proxy].up();
                }
            }
        };
        await step(undefined, []);
        let running = true;
        const watcher = (async () => {
            while (running) {
                const seen = (await events().catch(() => [])).filter((e) => !before.has(e.name));
                await step(await weight(), seen);
                await sleep(100);
            }
        })();
        let r: CliResult;
        try {
            r = await stack.up([], { onOutput: log });
        } finally {
            running = false;
            await watcher;
            for (const d of disarm) await d();
            for (const p of Object.values(proxies)) {
                p.clear();
                await p.up();
            }
        }

        // what the API server holds now
        const primary = await deployment(k, NS, `${APP}-primary`);
        const canary = await deployment(k, NS, `${APP}-canary`);
        const w = await weight();
        const warnings = (await events()).filter((e) => !before.has(e.name) && e.type === "Warning");
        for (const e of warnings) warningsSeen.add(e.message);
        const promoted = primary.image === image(tag);
        if (promoted) primaryTag = tag;
        const rolledBack = warnings.some((e) => e.message === `Canary failed! Scaling down ${APP}.${NS}`);
        const outcome: ReleaseResult["outcome"] = r.code === 0 ? (promoted ? "promoted" : "exit 0 without promotion") : rolledBack ? "rolled back" : "up failed";
        const expected = release.rows[0].expected;
        const falsePromotion = expected !== "promoted" && (r.code === 0 || promoted);
        const leftOnCanary = (w ?? 0) > 0 || canary.replicas > 0 ? `canary weight ${w}, podinfo-canary replicas ${canary.replicas}` : undefined;

        // every problem line and Warning Event must be explained by the release's rows
        const lines = r.out.split("\n");
        const explains = [...release.rows.flatMap((row) => [...row.texts, ...row.mayAlso ?? []]), ...CONSEQUENCES[expected]];
        const explained = (l: string) => explains.some((re) => re.test(l));
        const unexplained = [
            ...problemLines(r.out).filter((l) => !BASELINE.some((b) => b.line.test(l)) && !warningsSeen.has(REPLAYED_EVENT.exec(l)?.[1] ?? "\0") && !explained(l)).map((l) => `CLI: ${l}`),
            ...warnings.map((e) => e.message).filter((m) => !explained(m)).map((m) => `Warning Event: ${m}`),
        ];
        const corpus = [r.out, ...warnings.map((e) => e.message)].join("\n");

        const rows: RowResult[] = release.rows.map((row) => {
            const inj = row.inject;
            const injected = inj.kind === "rule" ? proxies[inj.proxy].hits.slice(hits0[inj.proxy]).filter((h) => h.rule === row.id).length
                : inj.kind === "down" ? refusals(lines, proxies[inj.proxy].port)
                    : refusals(lines, Number(new URL(urls.dead).port));
            const problems: string[] = [];
            if (outcome !== row.expected) problems.push(`outcome ${outcome}, expected ${row.expected}`);
            if (outcome === "promoted" && primary.ready !== primary.replicas) problems.push(`podinfo-primary has ${primary.ready} of ${primary.replicas} replicas ready`);
            if (inj.kind === "rule" && inj.times !== undefined ? injected !== inj.times : injected < 1) {
                problems.push(`injected ${injected} times${inj.kind === "rule" && inj.times !== undefined ? `, expected ${inj.times}` : ""} (armed at ${armedAt[row.id] ?? "never"})`);
            }
            if (inj.kind === "rule" && inj.arm.at === "weight" && armedAt[row.id] !== `weight ${inj.arm.weight}`) problems.push(`armed at ${armedAt[row.id] ?? "never"}, expected weight ${inj.arm.weight}`);
            for (const t of row.texts) if (!t.test(corpus)) problems.push(`no ${t} in the output or the Warning Events`);
            if (row.absent !== undefined && row.absent.test(corpus)) problems.push(`${row.absent} appeared: ${row.absent.exec(corpus)?.[0]}`);
            return { row, injected, problems };
        });
        const result: ReleaseResult = { release, tag, outcome, ms: r.ms, rows, falsePromotion, leftOnCanary, unexplained };
        log(`faults: "${release.name}": ${outcome} in ${r.ms} ms; injected ${rows.map((x) => `${x.row.id} ${x.injected}`).join(", ")}` +
            `${unexplained.length > 0 ? `; unexplained: ${JSON.stringify(unexplained, null, 1)}` : ""}\n`);
        return result;
    }

    for (const release of RELEASES) {
        it(`${release.name}: ${release.rows.map((r) => `${r.fault} at ${r.phase}`).join("; ")} -> ${release.rows[0].expected}`, async function () {
            const res = await runRelease(release);
            results.push(res);
            const problems = res.rows.flatMap((x) => x.problems.map((p) => `${x.row.id}: ${p}`));
            if (res.falsePromotion) problems.push(`false promotion: exit 0 or ${image(res.tag)} on podinfo-primary`);
            if (res.leftOnCanary !== undefined) problems.push(`left on canary: ${res.leftOnCanary}`);
            for (const u of res.unexplained) problems.push(`unexplained: ${u}`);
            assert.deepStrictEqual(problems, [], `release "${release.name}"`);
        });
    }

    it("ends with the counts: 0 false promotions, 0 left on canary, 0 unexplained errors", function () {
        const table = allRows().map(({ row }) => {
            const r = results.flatMap((x) => x.rows).find((x) => x.row === row);
            return `  ${row.fault.padEnd(42)} ${row.phase.padEnd(15)} ${row.expected.padEnd(12)} ${String(r?.injected ?? "-").padStart(3)}  ${row.texts.length > 0 ? row.texts.map((t) => t.source).join(" & ") : `absent: ${row.absent?.source}`}`;
        });
        log(`\nfaults table (fault, phase, expected, injected, text):\n${table.join("\n")}\n`);
        log(`faults: release times (ms): ${results.map((r) => `${r.release.name}: ${r.ms}`).join("; ")}; file ${Date.now() - t0} ms\n`);
        const injected = results.flatMap((r) => r.rows).reduce((n, r) => n + r.injected, 0);
        const falsePromotions = results.filter((r) => r.falsePromotion).length;
        const leftOnCanary = results.filter((r) => r.leftOnCanary !== undefined).length;
        const unexplained = results.reduce((n, r) => n + r.unexplained.length, 0);
        log(`faults: ${injected} injected, ${results.length} releases, ${falsePromotions} false promotions, ${leftOnCanary} left on canary, ${unexplained} unexplained errors\n`);
        assert.strictEqual(results.length, RELEASES.length, "not every release ran");
        assert.deepStrictEqual({ falsePromotions, leftOnCanary, unexplained }, { falsePromotions: 0, leftOnCanary: 0, unexplained: 0 });
    });
});
