// Stack config: defaults equal Pulumi.yaml's, the walkthrough stack reads as Flagger's,
// bad values are reported by key and value.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigSource, contextFor, DEFAULTS, parseDuration, readStackConfig } from "../../../components/config";

const root = path.join(__dirname, "..", "..", "..");
const yamlOf = (file: string) => YAML.parse(fs.readFileSync(path.join(root, file), "utf8"));

/** A ConfigSource over plain values, as the Pulumi CLI hands them to pulumi.Config. */
function source(values: Record<string, unknown>): ConfigSource {
    const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    return {
        get: (k) => (values[k] === undefined ? undefined : text(values[k])),
        getObject: <T>(k: string) => (values[k] === undefined ? undefined : (JSON.parse(text(values[k])) as T)),
        getSecret: () => undefined,
    };
}

function stackValues(file: string): Record<string, unknown> {
    const cfg = yamlOf(file).config as Record<string, unknown>;
    return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.replace(/^canary:/, ""), v]));
}

describe("stack config", () => {
    it("Pulumi.yaml declares every key with the defaults config.ts applies", () => {
        const schema = yamlOf("Pulumi.yaml").config as Record<string, { default?: unknown }>;
        const declared = Object.fromEntries(Object.entries(schema).filter(([, v]) => v.default !== undefined).map(([k, v]) => [k.replace(/^canary:/, ""), v.default]));
        const expected = Object.fromEntries(Object.entries(DEFAULTS));
        assert.deepEqual(declared, JSON.parse(JSON.stringify(expected)));
        assert.equal(yamlOf("Pulumi.yaml").name, "canary");
        assert.equal(schema["canary:kubeconfig"] && (schema["canary:kubeconfig"] as { secret?: boolean }).secret, true);
    });

    it("Pulumi.dev.yaml is Flagger's NGINX walkthrough", () => {
        const cfg = readStackConfig(source(stackValues("Pulumi.dev.yaml")));
        assert.equal(cfg.routing, "nginx");
        assert.equal(cfg.app.image, "ghcr.io/stefanprodan/podinfo:6.5.3");
        const a = cfg.release.analysis;
        assert.deepEqual([a.intervalSeconds, a.threshold, a.maxWeight, a.stepWeight], [30, 5, 50, 10]);
        assert.deepEqual(a.metrics.map((m) => [m.builtin, m.thresholdRange]), [["request-success-rate", { min: 99 }], ["request-duration", { max: 500 }]]);
        assert.deepEqual(a.webhooks.map((h) => [h.name, h.type, h.url, h.timeoutSeconds]), [
            ["acceptance-test", "pre-rollout", "http://flagger-loadtester.test/", 30],
            ["load-test", "rollout", "http://flagger-loadtester.test/", 5],
        ]);
        assert.equal(a.webhooks[0].metadata.cmd, "curl -sd 'test' http://podinfo-canary.test:9898/token | grep token");
        assert.match(a.webhooks[1].metadata.cmd, /^hey -z 1m -q 10 -c 2 /);
        assert.deepEqual(cfg.release.metricsServer, { service: "prometheus", namespace: "monitoring", port: 9090 });
        assert.equal(contextFor(cfg), "kind-kind");
    });

    it("Pulumi.minikube-linkerd.yaml routes with Linkerd on minikube", () => {
        const cfg = readStackConfig(source(stackValues("Pulumi.minikube-linkerd.yaml")));
        assert.deepEqual([cfg.cluster, cfg.routing, cfg.linkerdRoute, cfg.infra.linkerd, cfg.infra.ingressNginx], ["minikube", "linkerd", "httproute", true, false]);
        assert.equal(contextFor(cfg), "minikube");
    });

    it("applies the defaults without any key", () => {
        const cfg = readStackConfig(source({}));
        assert.deepEqual(cfg.infra, { ingressNginx: true, prometheus: true, linkerd: false, istio: false, loadtester: true });
        assert.deepEqual([cfg.namespace, cfg.app.name, cfg.app.replicas, cfg.release.enabled, cfg.release.retry], ["test", "podinfo", 2, true, false]);
        assert.equal(cfg.release.analysis.intervalSeconds, 60);
    });

    it("a metrics server may be a URL", () => {
        assert.deepEqual(readStackConfig(source({ metricsServer: "http://localhost:9090" })).release.metricsServer, { url: "http://localhost:9090" });
    });

    const bad: [string, Record<string, unknown>, string][] = [
        ["stepWeight 0", { analysis: { stepWeight: 0 } }, "canary:analysis.stepWeight: must be 1..100, got 0"],
        ["interval", { analysis: { interval: "soon" } }, 'canary:analysis.interval: must be a duration such as 30s, 1m or 1m30s, got "soon"'],
        ["routing", { routing: "traefik" }, 'canary:routing: must be one of nginx, linkerd, istio, got "traefik"'],
        ["boolean", { installPrometheus: "yes" }, 'canary:installPrometheus: must be true or false, got "yes"'],
        ["replicas", { replicas: "0" }, 'canary:replicas: must be an integer >= 1, got "0"'],
        ["two meshes", { installLinkerd: true, installIstio: true }, "canary:installIstio: cannot be true together with installLinkerd"],
        ["hook type", { analysis: { webhooks: [{ name: "x", type: "later", url: "http://a.b/" }] } }, 'canary:analysis.webhooks[0].type: must be one of'],
    ];
    for (const [name, values, message] of bad) {
        it(`rejects ${name}, naming the key and the value`, () => {
            assert.throws(() => readStackConfig(source(values)), (err: Error) => {
                assert.ok(err.message.includes(message), err.message);
                return true;
            });
        });
    }

    it("reports every problem at once", () => {
        assert.throws(() => readStackConfig(source({ routing: "x", replicas: "-1" })), (err: Error & { problems?: string[] }) => err.problems?.length === 2);
    });

    it("parses Flagger durations", () => {
        assert.deepEqual(["30s", "1m", "1m30s", "2h", "", "5", "1d"].map(parseDuration), [30, 60, 90, 7200, undefined, undefined, undefined]);
    });
});
