// e2e bad config: each malformed stack config of bad-configs.ts, put on a working stack (the
// app deployed and initialized), is refused by `pulumi preview` and by `pulumi up` with an
// error naming the key (and the value where the program sees it), and the up changes nothing:
// what the API server holds (every object's spec, data, labels and annotations) is the same
// before and after. The tier ends with `bad configs: N refused, 0 applied`, both counted.
import * as assert from "assert";
import { currentContext, image } from "../../scripts/lib/local-release";
import { CliResult, ProjectStack } from "../../scripts/lib/project-stack";
import { BAD_CONFIGS, BadConfig } from "./bad-configs";
import { e2eEnv } from "./harness";
import { Kube, kube, projectStack } from "./stack";

const NS = "badconfig";

/** Every object of the kinds the stack writes, by kind/namespace/name, as what a change would alter. */
async function clusterState(k: Kube): Promise<Map<string, string>> {
    const state = new Map<string, string>();
    type Obj = { kind?: string; metadata?: { namespace?: string; name?: string; labels?: unknown; annotations?: unknown }; spec?: unknown; data?: unknown; stringData?: unknown };
    const add = (kind: string, items: Obj[]) => {
        for (const o of items) {
            const m = o.metadata ?? {};
            state.set(`${kind}/${m.namespace ?? ""}/${m.name}`, JSON.stringify({ labels: m.labels, annotations: m.annotations, spec: o.spec, data: o.data }));
        }
    };
    add("Namespace", (await k.core.listNamespace()).items as Obj[]);
    add("Deployment", (await k.apps.listDeploymentForAllNamespaces()).items as Obj[]);
    add("Service", (await k.core.listServiceForAllNamespaces()).items as Obj[]);
    add("ConfigMap", (await k.core.listConfigMapForAllNamespaces()).items as Obj[]);
    add("Secret", (await k.core.listSecretForAllNamespaces()).items as Obj[]);
    add("ServiceAccount", (await k.core.listServiceAccountForAllNamespaces()).items as Obj[]);
    add("Ingress", (await k.net.listIngressForAllNamespaces()).items as Obj[]);
    return state;
}

/** What differs between two cluster states, one line per object. */
function changes(before: Map<string, string>, after: Map<string, string>): string[] {
    const out: string[] = [];
    for (const [key, v] of after) if (before.get(key) !== v) out.push(`${before.has(key) ? "changed" : "created"} ${key}`);
    for (const key of before.keys()) if (!after.has(key)) out.push(`deleted ${key}`);
    return out;
}

describe("e2e bad config: each malformed stack config is refused by preview and up, nothing applied", function () {
    this.timeout(30 * 60_000);
    let k: Kube;
    let stack: ProjectStack;
    let base: Record<string, unknown>;
    let initial: Map<string, string>;
    let refused = 0;
    let applied = 0;

    before(async function () {
        const env = e2eEnv();
        k = kube(env);
        stack = projectStack(env, "badconfig", { KUBECONFIG: env.kubeconfigPath });
        await stack.init();
        // the app alone, deployed and initialized: a bad config must leave it exactly so
        base = {
            "canary:kubeContext": currentContext(env.kubeconfig), "canary:namespace": NS, "canary:image": image("6.5.3"),
            "canary:installIngressNginx": false, "canary:installPrometheus": false, "canary:installLoadtester": false,
        };
        stack.setConfig(base);
        const r = await stack.up();
        assert.strictEqual(r.code, 0, `the working stack's up failed:\n${r.out.slice(-3000)}`);
        initial = await clusterState(k);
        assert.ok(initial.has(`Deployment/${NS}/podinfo-primary`), "the working stack deployed no primary");
    });

    after(async function () {
        this.timeout(5 * 60_000);
        if (stack === undefined) return;
        reset();
        await stack.destroy();
        await stack.remove();
    });

    /** The working stack's config again, and nothing else. */
    function reset(): void {
        stack.setConfig(Object.fromEntries(Object.keys(stack.config()).map((key) => [key, undefined])));
        stack.setConfig(base);
    }

    /** Puts the case's keys on the working stack (the secrets through the CLI). */
    async function apply(c: BadConfig): Promise<void> {
        reset();
        stack.setConfig({ ...base, ...Object.fromEntries(Object.entries(c.config ?? {}).map(([key, v]) => [`canary:${key}`, v])) });
        for (const [key, v] of Object.entries(c.secrets ?? {})) await stack.setSecret(`canary:${key}`, v);
    }

    const refusal = (what: string, r: CliResult, c: BadConfig) => {
        assert.notStrictEqual(r.code, 0, `${what} went through "${c.name}":\n${r.out.slice(-2000)}`);
        assert.ok(r.out.includes(c.error), `${what} of "${c.name}" did not say\n  ${c.error}\nit said:\n${r.out.slice(-2000)}`);
    };

    it(`the table holds at least 50 configs, each once`, () => {
        assert.ok(BAD_CONFIGS.length >= 50, `${BAD_CONFIGS.length} configs`);
        assert.strictEqual(new Set(BAD_CONFIGS.map((c) => c.name)).size, BAD_CONFIGS.length);
    });

    for (const c of BAD_CONFIGS) {
        it(`refuses ${c.name}`, async () => {
            await apply(c);
            refusal("pulumi preview", await stack.run(["preview"]), c);
            const up = await stack.up();
            const diff = changes(initial, await clusterState(k));
            if (up.code === 0 || diff.length > 0) applied++;
            assert.deepStrictEqual(diff, [], `pulumi up of "${c.name}" changed the cluster`);
            refusal("pulumi up", up, c);
            refused++;
        });
    }

    it("sums up: every config refused, none applied", () => {
        process.stdout.write(`      bad configs: ${refused} refused, ${applied} applied\n`);
        assert.deepStrictEqual({ refused, applied }, { refused: BAD_CONFIGS.length, applied: 0 });
    });
});
