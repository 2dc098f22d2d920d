// Stack config: defaults equal Pulumi.yaml's, the walkthrough stack reads as Flagger's,
// bad values are reported by key and value, the kubeconfig stays secret, chart sources are
// repositories or checked folders.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { CHARTS, ConfigError, ConfigSource, contextFor, DEFAULTS, helmChart, parseDuration, pulumiConfigSource, readStackConfig } from "../../../components/config";

const root = path.join(__dirname, "..", "..", "..");
const yamlOf = (file: string) => YAML.parse(fs.readFileSync(path.join(root, file), "utf8"));

/**
 * A ConfigSource over plain values, as the Pulumi CLI hands them to pulumi.Config: `secrets`
 * were set with --secret (get gives their plaintext too, getSecret a secret Output).
 */
function source(values: Record<string, unknown>, secrets: Record<string, string> = {}): ConfigSource {
    const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    const get = (k: string) => secrets[k] ?? (values[k] === undefined ? undefined : text(values[k]));
    return {
        get,
        getObject: <T>(k: string) => (get(k) === undefined ? undefined : (JSON.parse(get(k) as string) as T)),
        getSecret: (k) => {
            const v = get(k);
            return v === undefined ? undefined : pulumi.secret(v);
        },
        isSecret: (k) => k in secrets,
        keys: () => [...new Set([...Object.keys(values), ...Object.keys(secrets)])],
    };
}

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (err) {
        if (err instanceof ConfigError) return [...err.problems];
        throw err;
    }
    assert.fail("expected a ConfigError");
}

function stackValues(file: string): Record<string, unknown> {
    const cfg = yamlOf(file).config as Record<string, unknown>;
    return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.replace(/^canary:/, ""), v]));
}

describe("stack config", () => {
    describe("Pulumi.yaml", () => {
        type Declared = { type?: string; default?: unknown; secret?: boolean };
        const schema = () => yamlOf("Pulumi.yaml").config as Record<string, Declared>;

        it("every key has a default, so a new stack needs no config (the CLI requires a key without one)", () => {
            assert.deepEqual(Object.entries(schema()).filter(([, v]) => v.default === undefined).map(([k]) => k), []);
        });

        it("declares every key with the defaults config.ts applies, in the canary namespace", () => {
            const declared = Object.fromEntries(Object.entries(schema()).map(([k, v]) => [k.replace(/^canary:/, ""), v.default]));
            assert.deepEqual(declared, JSON.parse(JSON.stringify(DEFAULTS)));
            assert.deepEqual(Object.keys(schema()).filter((k) => !k.startsWith("canary:")), []);
            assert.equal(yamlOf("Pulumi.yaml").name, "canary");
        });

        it("each default has the declared type", () => {
            const typeOf = (v: unknown) => (Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
            const wrong = Object.entries(schema()).filter(([, v]) => v.type !== undefined && typeOf(v.default) !== v.type).map(([k, v]) => `${k}: ${v.type} ${JSON.stringify(v.default)}`);
            assert.deepEqual(wrong, []);
        });

        it("no key is both secret and defaulted: CLI 3.248 refuses a secret key's plaintext default (pulumi/pulumi#21865)", () => {
            // "validating stack config: Stack 'kwok' with configuration key 'canary:kubeconfig'
            // must be encrypted as it's secret": config.ts refuses a plaintext kubeconfig instead
            assert.deepEqual(Object.entries(schema()).filter(([, v]) => v.secret === true && v.default !== undefined).map(([k]) => k), []);
            assert.deepEqual([schema()["canary:kubeconfig"].type, schema()["canary:kubeconfig"].default], ["string", ""]);
        });
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
        assert.deepEqual(cfg.infra, { ingressNginx: true, prometheus: true, linkerd: false, istio: false, loadtester: true, grafana: false });
        assert.equal(cfg.kubeconfig, undefined);
        assert.deepEqual(cfg.charts, {
            ingressNginx: { repository: "https://kubernetes.github.io/ingress-nginx" },
            linkerd: { repository: "https://helm.linkerd.io/stable" },
            linkerdSmi: { repository: "https://linkerd.github.io/linkerd-smi" },
            istio: { repository: "https://istio-release.storage.googleapis.com/charts" },
        });
        assert.deepEqual([cfg.namespace, cfg.app.name, cfg.app.replicas, cfg.release.enabled, cfg.release.retry], ["test", "podinfo", 2, true, false]);
        assert.equal(cfg.release.analysis.intervalSeconds, 60);
    });

    it("canary:pushgateway: auto is the stack's own while it installs Prometheus; none, a URL or a Service", () => {
        const pg = (values: Record<string, unknown>) => readStackConfig(source(values)).release.pushgateway;
        assert.deepEqual(pg({}), { service: "pushgateway", namespace: "monitoring", port: 9091 });
        assert.equal(pg({ installPrometheus: false }), undefined, "an existing Prometheus: no Pushgateway assumed");
        assert.equal(pg({ pushgateway: "none" }), undefined);
        assert.deepEqual(pg({ pushgateway: "http://127.0.0.1:9091" }), { url: "http://127.0.0.1:9091" });
        assert.deepEqual(pg({ installPrometheus: false, pushgateway: { service: "pg", namespace: "obs", port: 9091 } }), { service: "pg", namespace: "obs", port: 9091 });
        assert.deepEqual(problemsOf(() => readStackConfig(source({ pushgateway: "pushgateway:9091" }))), ['canary:pushgateway: must be an http(s) URL, {service, namespace, port}, "auto" or "none", got "pushgateway:9091"']);
        assert.deepEqual(problemsOf(() => readStackConfig(source({ pushgateway: { service: "pg", namespace: "obs" } }))), ["canary:pushgateway.port: must be 1..65535, got nothing"]);
    });

    it("a metrics server may be a URL", () => {
        assert.deepEqual(readStackConfig(source({ metricsServer: "http://localhost:9090" })).release.metricsServer, { url: "http://localhost:9090" });
    });

    const bad: [string, Record<string, unknown>, string][] = [
        ["stepWeight 0", { analysis: { stepWeight: 0 } }, "canary:analysis.stepWeight: must be 1..100, got 0"],
        ["interval", { analysis: { interval: "soon" } }, 'canary:analysis.interval: must be a duration such as 30s, 1m, 1m30s or 30d, got "soon"'],
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

    describe("static split and error budget (analysis.static, analysis.errorBudget)", () => {
        it("reads both into the release's analysis, durations in seconds", () => {
            const a = readStackConfig(source({ analysis: {
                interval: "2s", static: { weight: 20, soak: "30s" },
                errorBudget: { slo: 99.9, window: "30d", maxBurnRate: 10, maxBudgetSpent: 0.5, interval: "10s" },
            } })).release.analysis;
            assert.deepEqual(a.static, { weight: 20, soakSeconds: 30 });
            assert.deepEqual(a.errorBudget, { slo: 99.9, windowSeconds: 2592000, maxBurnRate: 10, maxBudgetSpent: 0.5, interval: "10s" });
        });

        it("are absent unless set, and the budget's interval defaults to 1m", () => {
            const a = readStackConfig(source({})).release.analysis;
            assert.deepEqual([a.static, a.errorBudget], [undefined, undefined]);
            const b = readStackConfig(source({ analysis: { errorBudget: { slo: 99, window: "7d", maxBurnRate: 2 } } })).release.analysis.errorBudget;
            assert.deepEqual(b, { slo: 99, windowSeconds: 604800, maxBurnRate: 2, interval: "1m" });
        });

        const refused: [string, Record<string, unknown>, string][] = [
            ["a weight above 100", { static: { weight: 120, soak: "30s" } }, "canary:analysis.static.weight: must be 1..100, got 120"],
            ["no soak", { static: { weight: 20 } }, "canary:analysis.static.soak: must be set, a duration such as 30s, 1m, 1m30s or 30d, got nothing"],
            ["a soak that is no duration", { static: { weight: 20, soak: "a while" } }, 'canary:analysis.static.soak: must be a duration such as 30s, 1m, 1m30s or 30d, got "a while"'],
            ["a typo in static", { static: { weight: 20, soak: "30s", Soak: "1m" } }, 'canary:analysis.static.Soak: unknown key (did you mean soak?), got "1m"'],
            ["stepWeight with static", { stepWeight: 5, static: { weight: 20, soak: "30s" } }, "canary:analysis.stepWeight: cannot be set with analysis.static (one fixed weight for the soak time), got 5"],
            ["maxWeight with static", { maxWeight: 30, static: { weight: 20, soak: "30s" } }, "canary:analysis.maxWeight: cannot be set with analysis.static (one fixed weight for the soak time), got 30"],
            ["stepWeights with static", { stepWeights: [5, 10], static: { weight: 20, soak: "30s" } }, "canary:analysis.stepWeights: cannot be set with analysis.static (one fixed weight for the soak time), got [5,10]"],
            ["iterations with static", { iterations: 3, static: { weight: 20, soak: "30s" } }, "canary:analysis.iterations: cannot be set with analysis.static (one fixed weight for the soak time), got 3"],
            ["an SLO of 100", { errorBudget: { slo: 100, window: "30d", maxBurnRate: 10 } }, "canary:analysis.errorBudget.slo: must be a percentage of successful requests above 0 and below 100, such as 99.9, got 100"],
            ["an SLO given as text", { errorBudget: { slo: "99.9", window: "30d", maxBurnRate: 10 } }, 'canary:analysis.errorBudget.slo: must be a percentage of successful requests above 0 and below 100, such as 99.9, got "99.9"'],
            ["no window", { errorBudget: { slo: 99.9, maxBurnRate: 10 } }, "canary:analysis.errorBudget.window: must be set, a duration such as 30s, 1m, 1m30s or 30d, got nothing"],
            ["a burn rate of 0", { errorBudget: { slo: 99.9, window: "30d", maxBurnRate: 0 } }, "canary:analysis.errorBudget.maxBurnRate: must be a number > 0 (1 spends the budget exactly over the window), got 0"],
            ["no burn rate", { errorBudget: { slo: 99.9, window: "30d" } }, "canary:analysis.errorBudget.maxBurnRate: must be a number > 0 (1 spends the budget exactly over the window), got nothing"],
            ["a budget cap above 100%", { errorBudget: { slo: 99.9, window: "30d", maxBurnRate: 10, maxBudgetSpent: 150 } }, "canary:analysis.errorBudget.maxBudgetSpent: must be a percentage of the window's budget, above 0 and at most 100, got 150"],
            ["a query interval that is no Prometheus duration", { errorBudget: { slo: 99.9, window: "30d", maxBurnRate: 10, interval: "90 seconds" } }, 'canary:analysis.errorBudget.interval: must be a Prometheus duration such as 1m or 30s, got "90 seconds"'],
        ];
        for (const [name, analysis, message] of refused) {
            it(`refuses ${name}, naming the key and the value`, () => {
                const problems = problemsOf(() => readStackConfig(source({ analysis })));
                assert.ok(problems.includes(message), problems.join("\n"));
                assert.equal(problems.length, 1, `one problem, said once: ${problems.join("; ")}`);
            });
        }
    });

    describe("unknown keys (a typo must not pass as a default)", () => {
        const unknown: [string, Record<string, unknown>, string][] = [
            ["a top-level key, with the nearest known one", { imgae: "podinfo:1" }, 'canary:imgae: unknown key (did you mean canary:image?), got "podinfo:1"'],
            ["a top-level key differing only in case", { Routing: "istio" }, 'canary:Routing: unknown key (did you mean canary:routing?), got "istio"'],
            ["a top-level key like no other", { flavour: "vanilla" }, 'canary:flavour: unknown key, got "vanilla"'],
            ["an analysis key", { analysis: { stepweight: 5 } }, "canary:analysis.stepweight: unknown key (did you mean stepWeight?), got 5"],
            ["a metric key", { analysis: { metrics: [{ name: "m", query: "1", thresholdrange: { min: 1 } }] } }, 'canary:analysis.metrics[0].thresholdrange: unknown key (did you mean thresholdRange?), got {"min":1}'],
            ["a threshold bound", { analysis: { metrics: [{ name: "m", query: "1", thresholdRange: { minimum: 1 } }] } }, "canary:analysis.metrics[0].thresholdRange.minimum: unknown key, got 1"],
            ["a webhook key", { analysis: { webhooks: [{ name: "h", url: "http://a.b/", tiemout: "5s" }] } }, 'canary:analysis.webhooks[0].tiemout: unknown key (did you mean timeout?), got "5s"'],
            ["a match key", { analysis: { iterations: 2, match: [{ header: { x: { exact: "1" } } }] } }, 'canary:analysis.match[0].header: unknown key (did you mean headers?), got {"x":{"exact":"1"}}'],
            ["a header condition", { analysis: { iterations: 2, match: [{ headers: { x: { exact: "1", prefix: "2" } } }] } }, 'canary:analysis.match[0].headers.x.prefix: unknown key, got "2"'],
            ["a metrics server key", { metricsServer: { service: "p", namespace: "m", port: 9090, tls: true } }, "canary:metricsServer.tls: unknown key, got true"],
        ];
        for (const [name, values, message] of unknown) {
            it(`refuses ${name}`, () => {
                assert.ok(problemsOf(() => readStackConfig(source(values))).includes(message), problemsOf(() => readStackConfig(source(values))).join("\n"));
            });
        }

        it("canary:analysis set as a secret (whole or by --path) marks the release's analysis secret", () => {
            assert.equal(readStackConfig(source({})).release.secretAnalysis, false);
            const secret = readStackConfig(source({}, { analysis: JSON.stringify({ webhooks: [{ name: "h", url: "http://a.b/?token=t" }] }) })).release;
            assert.deepEqual([secret.secretAnalysis, secret.analysis.webhooks[0].url], [true, "http://a.b/?token=t"]);
        });

        describe("alerts", () => {
            const TOKEN = "T000/B000/xoxbSECRET123";
            const providers = { chat: { type: "slack", address: `https://hooks.slack.com/services/${TOKEN}`, channel: "deploys" }, teams: { type: "msteams", address: "https://example.webhook.office.com/x" } };
            const alerts = [{ name: "on-call", severity: "error", providerRef: { name: "chat" } }, { name: "all", providerRef: { name: "teams" } }];

            it("analysis.alerts resolve their providers into one secret Output; the analysis itself has no alerts", async () => {
                const r = readStackConfig(source({ analysis: { alerts } }, { alertProviders: JSON.stringify(providers) })).release;
                assert.ok(r.alerts !== undefined);
                assert.equal(await pulumi.isSecret(r.alerts), true);
                assert.deepEqual(await promiseOf(r.alerts), [
                    { name: "on-call", severity: "error", provider: { type: "slack", address: `https://hooks.slack.com/services/${TOKEN}`, channel: "deploys" } },
                    { name: "all", severity: "info", provider: { type: "msteams", address: "https://example.webhook.office.com/x" } },
                ]);
                assert.equal("alerts" in r.analysis, false);
                assert.equal(readStackConfig(source({})).release.alerts, undefined);
            });

            it("bad alerts and providers are refused naming the key; no address is ever shown", () => {
                const problems = problemsOf(() => readStackConfig(source(
                    { analysis: { alerts: [{ name: "a", severity: "critical", providerRef: { name: "chat" } }, { name: "a", providerRef: { name: "nope" } }, { name: "b", providerRef: { name: "chat", namespace: "x" }, channel: "c" }] } },
                    { alertProviders: JSON.stringify({ chat: { type: "pagerduty", address: `hooks.slack.com/${TOKEN}`, adress: `https://${TOKEN}` }, "Bad_Name": { type: "slack", address: "https://x.example/" } }) },
                )));
                assert.deepEqual([...problems].sort(), [
                    "canary:analysis.alerts[0].severity: must be one of info, warn, error, got \"critical\"",
                    "canary:analysis.alerts[1].name: must be unique among alerts, got \"a\"",
                    "canary:analysis.alerts[1].providerRef.name: must name a provider of canary:alertProviders (set: chat, Bad_Name), got \"nope\"",
                    "canary:analysis.alerts[2].channel: unknown key, got \"c\"",
                    "canary:analysis.alerts[2].providerRef.namespace: unknown key, got \"x\"",
                    "canary:alertProviders.chat.adress: unknown key (did you mean address?), got a secret value (not shown)",
                    "canary:alertProviders.chat.type: must be one of slack, msteams, discord, gchat, webhook, got \"pagerduty\"",
                    "canary:alertProviders.chat.address: must be an http:// or https:// URL, got another value (not shown: a secret)",
                    "canary:alertProviders.Bad_Name: the name must be a DNS-1123 label, got \"Bad_Name\"",
                ].sort());
                assert.ok(!problems.join("\n").includes(TOKEN));
            });

            it("providers set in plaintext are refused, without their addresses", () => {
                const problems = problemsOf(() => readStackConfig(source({ alertProviders: providers, analysis: { alerts } })));
                assert.deepEqual(problems, ["canary:alertProviders: must be set as a secret (its addresses carry tokens: pulumi config set --secret --path 'canary:alertProviders.NAME.address' URL), got a plaintext value (not shown)"]);
            });
        });

        describe("metric templates (canary:metricTemplates, analysis.metrics[].templateRef)", () => {
            const P99 = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{ namespace }}", app="{{ target }}"}[{{ interval }}]))) * 1000';
            const metric = { name: "latency-p99", templateRef: { name: "p99" }, thresholdRange: { max: 500 }, interval: "30s", templateVariables: { q: "0.99" } };

            it("a template resolves into the check: its query, and its own server when it has one; the token makes the analysis secret", () => {
                const plain = readStackConfig(source({ metricTemplates: { p99: { query: P99 } }, analysis: { metrics: [metric] } })).release;
                assert.deepEqual(plain.analysis.metrics, [{ name: "latency-p99", query: P99, templateRef: "p99", thresholdRange: { max: 500 }, interval: "30s", templateVariables: { q: "0.99" } }]);
                assert.equal(plain.secretAnalysis, false);
                const templates = { p99: { provider: { type: "prometheus", address: "https://prom.example.com", bearerToken: "tok-123" }, query: P99 }, local: { provider: { service: "prometheus", namespace: "monitoring", port: 9090 }, query: "up" } };
                const r = readStackConfig(source({ analysis: { metrics: [metric, { name: "up", templateRef: { name: "local" }, thresholdRange: { min: 1 } }] } }, { metricTemplates: JSON.stringify(templates) })).release;
                assert.deepEqual(r.analysis.metrics.map((m) => m.source), [
                    { server: { url: "https://prom.example.com" }, bearerToken: "tok-123" },
                    { server: { service: "prometheus", namespace: "monitoring", port: 9090 } },
                ]);
                assert.equal(r.secretAnalysis, true);
            });

            it("bad templates and references are refused naming the key; a token is never shown", () => {
                const problems = problemsOf(() => readStackConfig(source(
                    { analysis: { metrics: [{ ...metric, query: "up" }, { ...metric, name: "b", templateRef: { name: "nope", namespace: "x" } }] } },
                    { metricTemplates: JSON.stringify({ p99: { query: P99, provider: { type: "datadog", address: "prom:9090", bearerToken: "tok-123", tokn: 1 } }, Bad: { query: "" }, svc: { query: "up", provider: { service: "prometheus", namespace: "monitoring", port: 9090, bearerToken: "tok-123" } } }) },
                )));
                assert.deepEqual([...problems].sort(), [
                    "canary:analysis.metrics[0].query: set query or templateRef, not both, got \"up\"",
                    "canary:analysis.metrics[1].templateRef.name: must name a template of canary:metricTemplates (set: p99, Bad, svc), got \"nope\"",
                    "canary:analysis.metrics[1].templateRef.namespace: unknown key, got \"x\"",
                    "canary:metricTemplates.Bad: the name must be a DNS-1123 label, got \"Bad\"",
                    "canary:metricTemplates.Bad.query: must be a PromQL query, got \"\"",
                    "canary:metricTemplates.p99.provider.address: must be an http:// or https:// URL, got \"prom:9090\"",
                    "canary:metricTemplates.p99.provider.tokn: unknown key, got 1",
                    "canary:metricTemplates.p99.provider.type: must be prometheus, got \"datadog\"",
                    "canary:metricTemplates.svc.provider.bearerToken: needs a server by URL (through the API server's service proxy the Authorization header is the API server's)",
                ].sort());
                assert.ok(!problems.join("\n").includes("tok-123"));
            });

            it("metrics given as a non-list are refused, not a crash (the template resolution reads the list)", () => {
                assert.deepEqual(problemsOf(() => readStackConfig(source({ analysis: { metrics: "request-success-rate" } }))), ['canary:analysis.metrics: must be a list of metric checks, got "request-success-rate"']);
            });

            it("a token set in plaintext is refused, without its value", () => {
                const problems = problemsOf(() => readStackConfig(source({ metricTemplates: { p99: { query: P99, provider: { address: "https://prom.example.com", bearerToken: "tok-123" } } } })));
                assert.deepEqual(problems, ["canary:metricTemplates.p99.provider.bearerToken: must be set as a secret (pulumi config set --secret --path 'canary:metricTemplates.p99.provider.bearerToken' TOKEN), got a plaintext value (not shown)"]);
            });
        });

        describe("app environment (canary:appConfig, canary:appSecrets)", () => {
            it("podinfo's message by default; numbers and booleans as text; secrets as one secret Output", async () => {
                assert.deepEqual(readStackConfig(source({})).app.env, { PODINFO_UI_MESSAGE: "greetings from podinfo" });
                assert.equal(readStackConfig(source({})).app.secretEnv, undefined);
                const app = readStackConfig(source({ appConfig: { A: "x", N: 3, B: true } }, { appSecrets: JSON.stringify({ TOKEN: "s3cret" }) })).app;
                assert.deepEqual(app.env, { A: "x", N: "3", B: "true" });
                assert.ok(app.secretEnv !== undefined);
                assert.equal(await pulumi.isSecret(app.secretEnv), true);
                assert.deepEqual(await promiseOf(app.secretEnv), { TOKEN: "s3cret" });
            });

            it("bad names and values are refused naming the key; a secret's value is never shown", () => {
                const problems = problemsOf(() => readStackConfig(source({ appConfig: { "1BAD": "x", OK: { nested: 1 } } }, { appSecrets: JSON.stringify({ "my-token": "s3cret", LIST: ["s3cret"] }) })));
                assert.deepEqual(problems, [
                    "canary:appConfig.1BAD: the name must be an environment variable name (letters, digits, '_', not starting with a digit), got \"1BAD\"",
                    "canary:appConfig.OK: must be a string, got {\"nested\":1}",
                    "canary:appSecrets.my-token: the name must be an environment variable name (letters, digits, '_', not starting with a digit), got \"my-token\"",
                    "canary:appSecrets.LIST: must be a string, got another value (not shown: a secret)",
                ]);
                assert.ok(!problems.join("\n").includes("s3cret"));
                assert.deepEqual(problemsOf(() => readStackConfig(source({ appConfig: ["A=1"] }))), ["canary:appConfig: must be an object of {NAME: value}, got [\"A=1\"]"]);
            });

            it("secrets set in plaintext are refused, without their values", () => {
                assert.deepEqual(problemsOf(() => readStackConfig(source({ appSecrets: { TOKEN: "s3cret" } }))),
                    ["canary:appSecrets: must be set as a secret (pulumi config set --secret --path 'canary:appSecrets.NAME' VALUE), got a plaintext value (not shown)"]);
            });
        });

        it("a secret unknown key is refused without its value", () => {
            assert.deepEqual(problemsOf(() => readStackConfig(source({}, { kubeconfg: "client-key-data: SECRETKEY" }))), ["canary:kubeconfg: unknown key (did you mean canary:kubeconfig?), got a secret value (not shown)"]);
        });

        it("every key of the walkthrough stacks and of Pulumi.yaml is known", () => {
            for (const file of ["Pulumi.dev.yaml", "Pulumi.minikube-linkerd.yaml"]) readStackConfig(source(stackValues(file)));
            readStackConfig(source(JSON.parse(JSON.stringify(DEFAULTS))));
        });

        it("through pulumi.Config, the keys of the project's namespace are checked and other namespaces left alone", () => {
            const saved = pulumi.runtime.allConfig();
            try {
                pulumi.runtime.setAllConfig({ "canary:imagee": "x", "kubernetes:context": "kind-kind", "other:imagee": "y" }, []);
                assert.deepEqual(problemsOf(() => readStackConfig(pulumiConfigSource(new pulumi.Config("canary")))), ['canary:imagee: unknown key (did you mean canary:image?), got "x"']);
            } finally {
                pulumi.runtime.setAllConfig(saved, []);
            }
        });
    });

    it("reports every problem at once", () => {
        assert.throws(() => readStackConfig(source({ routing: "x", replicas: "-1" })), (err: Error & { problems?: string[] }) => err.problems?.length === 2);
    });

    it("parses Flagger durations", () => {
        assert.deepEqual(["30s", "1m", "1m30s", "2h", "", "5", "30d", "7d12h", "1w"].map(parseDuration), [30, 60, 90, 7200, undefined, undefined, 2592000, 648000, undefined]);
    });

    describe("canary:kubeconfig", () => {
        it('"" (the default, as the CLI passes it) is unset: the ambient kubeconfig', () => {
            assert.equal(readStackConfig(source({ kubeconfig: "" })).kubeconfig, undefined);
            assert.equal(readStackConfig(source({}, { kubeconfig: "" })).kubeconfig, undefined);
        });

        it("a value set as a secret goes on as a secret Output with that value", async () => {
            const kc = readStackConfig(source({}, { kubeconfig: "apiVersion: v1\nkind: Config\n" })).kubeconfig;
            assert.ok(kc !== undefined);
            assert.equal(await pulumi.isSecret(kc), true);
            assert.equal(await promiseOf(kc), "apiVersion: v1\nkind: Config\n");
        });

        it("a value not set as a secret is refused, and the error does not show it", () => {
            const problems = problemsOf(() => readStackConfig(source({ kubeconfig: "client-key-data: SECRETKEY" })));
            assert.deepEqual(problems, ["canary:kubeconfig: must be set as a secret (pulumi config set --secret canary:kubeconfig < FILE), got a plaintext value (not shown)"]);
        });

        it("a blank value is refused, not taken for unset", () => {
            assert.deepEqual(problemsOf(() => readStackConfig(source({}, { kubeconfig: " \n" }))), ['canary:kubeconfig: must be kubeconfig contents, or "" for the ambient kubeconfig, got a blank value']);
        });

        describe("through pulumi.Config (pulumiConfigSource)", () => {
            let saved: Record<string, string>;
            before(() => { saved = pulumi.runtime.allConfig(); });
            after(() => pulumi.runtime.setAllConfig(saved, []));

            it("knows a key the engine passed as secret from a plaintext one", async () => {
                pulumi.runtime.setAllConfig({ "canary:kubeconfig": "apiVersion: v1\n" }, ["canary:kubeconfig"]);
                const kc = readStackConfig(pulumiConfigSource(new pulumi.Config("canary"))).kubeconfig;
                assert.ok(kc !== undefined);
                assert.deepEqual([await pulumi.isSecret(kc), await promiseOf(kc)], [true, "apiVersion: v1\n"]);

                pulumi.runtime.setAllConfig({ "canary:kubeconfig": "apiVersion: v1\n" }, []);
                assert.match(problemsOf(() => readStackConfig(pulumiConfigSource(new pulumi.Config("canary")))).join("\n"), /canary:kubeconfig: must be set as a secret/);

                pulumi.runtime.setAllConfig({ "canary:kubeconfig": "" }, []);
                assert.equal(readStackConfig(pulumiConfigSource(new pulumi.Config("canary"))).kubeconfig, undefined);
            });
        });
    });

    describe("chart sources (canary:*Charts)", () => {
        let dir: string;
        /** A project directory with charts/ holding a Chart.yaml folder for each of `charts`. */
        function project(...charts: string[]): string {
            const p = fs.mkdtempSync(path.join(dir, "project-"));
            for (const c of charts) {
                fs.mkdirSync(path.join(p, "charts", c), { recursive: true });
                fs.writeFileSync(path.join(p, "charts", c, "Chart.yaml"), `name: ${c}\n`);
            }
            return p;
        }
        before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-charts-")); });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("http(s):// and oci:// values are repositories", () => {
            const cfg = readStackConfig(source({ ingressNginxCharts: "https://charts.example.com/nginx", istioCharts: "oci://registry.example.com/istio", linkerdCharts: "http://mirror:8080/" }));
            assert.deepEqual([cfg.charts.ingressNginx, cfg.charts.istio, cfg.charts.linkerd], [
                { repository: "https://charts.example.com/nginx" }, { repository: "oci://registry.example.com/istio" }, { repository: "http://mirror:8080/" },
            ]);
        });

        it("a relative folder resolves against the project directory to an absolute path", () => {
            const p = project("ingress-nginx");
            assert.deepEqual(readStackConfig(source({ ingressNginxCharts: "charts" }), { projectDir: p }).charts.ingressNginx, { folder: path.join(p, "charts") });
            assert.deepEqual(readStackConfig(source({ ingressNginxCharts: "../" + path.basename(p) + "/charts/" }), { projectDir: p }).charts.ingressNginx, { folder: path.join(p, "charts") });
            assert.deepEqual(readStackConfig(source({ ingressNginxCharts: path.join(p, "charts") }), { projectDir: "/" }).charts.ingressNginx, { folder: path.join(p, "charts") });
        });

        it("a folder without the chart is refused, naming the key, the chart, the folder and the value", () => {
            const p = project("linkerd-smi");
            assert.deepEqual(problemsOf(() => readStackConfig(source({ ingressNginxCharts: "charts" }), { projectDir: p })), [
                `canary:ingressNginxCharts: no chart folder ingress-nginx in ${path.join(p, "charts")}, got "charts"`,
            ]);
        });

        it("a sub-folder without Chart.yaml is not a chart folder", () => {
            const p = project();
            fs.mkdirSync(path.join(p, "charts", "ingress-nginx"), { recursive: true });
            assert.match(problemsOf(() => readStackConfig(source({ ingressNginxCharts: "charts" }), { projectDir: p }))[0], /no chart folder ingress-nginx in /);
        });

        it("a folder that does not exist is refused", () => {
            const p = project();
            assert.deepEqual(problemsOf(() => readStackConfig(source({ ingressNginxCharts: "../x" }), { projectDir: p })), [
                `canary:ingressNginxCharts: no folder ${path.join(path.dirname(p), "x")}, got "../x"`,
            ]);
        });

        it("each key's folder must hold every chart its component installs", () => {
            const p = project("linkerd-crds", "istio-base");
            const problems = problemsOf(() => readStackConfig(source({ installIngressNginx: false, installLinkerd: true, linkerdRoute: "smi", linkerdCharts: "charts", linkerdSmiCharts: "charts" }), { projectDir: p }));
            assert.deepEqual(problems, [
                `canary:linkerdCharts: no chart folder linkerd-control-plane in ${path.join(p, "charts")}, got "charts"`,
                `canary:linkerdSmiCharts: no chart folder linkerd-smi in ${path.join(p, "charts")}, got "charts"`,
            ]);
            const istio = problemsOf(() => readStackConfig(source({ installIstio: true, istioCharts: "charts" }), { projectDir: p }));
            assert.deepEqual(istio, [`canary:istioCharts: no chart folder istiod in ${path.join(p, "charts")}, got "charts"`]);
        });

        it("one folder serves every key (the layout of ../shared/charts, plus the control planes)", () => {
            const p = project("ingress-nginx", "linkerd-crds", "linkerd-control-plane", "linkerd-smi");
            const folder = path.join(p, "charts");
            const cfg = readStackConfig(source({ installLinkerd: true, linkerdRoute: "smi", ingressNginxCharts: "charts", linkerdCharts: "charts", linkerdSmiCharts: "charts" }), { projectDir: p });
            assert.deepEqual([cfg.charts.ingressNginx, cfg.charts.linkerd, cfg.charts.linkerdSmi], [{ folder }, { folder }, { folder }]);
        });

        it("a folder is checked only when its component is installed (linkerd-smi: with linkerdRoute smi)", () => {
            const p = project("linkerd-crds", "linkerd-control-plane");
            const cfg = readStackConfig(source({ installIngressNginx: false, installLinkerd: true, ingressNginxCharts: "nowhere", linkerdCharts: "charts", linkerdSmiCharts: "nowhere", istioCharts: "nowhere" }), { projectDir: p });
            const nowhere = { folder: path.join(p, "nowhere") };
            assert.deepEqual(cfg.charts, { ingressNginx: nowhere, linkerd: { folder: path.join(p, "charts") }, linkerdSmi: nowhere, istio: nowhere });
        });

        const bad: [string, string][] = [["empty", ""], ["another scheme", "file:///charts"], ["a bare scheme", "https://"]];
        for (const [name, value] of bad) {
            it(`refuses ${name}`, () => {
                assert.deepEqual(problemsOf(() => readStackConfig(source({ istioCharts: value }))), [
                    `canary:istioCharts: must be a Helm repository URL (http://, https:// or oci://) or a chart folder, got ${JSON.stringify(value)}`,
                ]);
            });
        }
    });

    describe("helmChart (a chart source as helm.v3.Release arguments)", () => {
        it("a folder: the chart's sub-folder, no version, no repository", () => {
            assert.deepEqual(helmChart({ folder: "/charts" }, CHARTS.istioBase, "1.22.3"), { chart: "/charts/istio-base" });
        });
        it("an http(s) repository: the chart by name at the version from the repository", () => {
            assert.deepEqual(helmChart({ repository: "https://kubernetes.github.io/ingress-nginx" }, CHARTS.ingressNginx, "4.11.3"), {
                chart: "ingress-nginx", version: "4.11.3", repositoryOpts: { repo: "https://kubernetes.github.io/ingress-nginx" },
            });
        });
        it("an oci:// registry: the chart's oci:// reference at the version, no repository", () => {
            assert.deepEqual(helmChart({ repository: "oci://registry.example.com/charts/" }, CHARTS.istioBase, "1.22.3"), { chart: "oci://registry.example.com/charts/base", version: "1.22.3" });
        });
    });
});
