// validate.ts over tables of inputs: every problem is asserted whole (field and message), and
// so is the absence of problems, so a message, a bound or a check that goes missing fails here.
import { strict as assert } from "assert";
import { UNKNOWN, validateAnalysis, validateMetricsServer, validateReleaseInputs } from "../../../components/canary/provider/validate";

const metric = { name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m", templateVariables: {} };
const webhook = { name: "load-test", type: "rollout", url: "http://loadtester.test/", timeoutSeconds: 5, retries: 0, metadata: { cmd: "hey" } };
const analysis = {
    intervalSeconds: 30, threshold: 5, maxWeight: 50, stepWeight: 10, stepWeights: [], iterations: 0, match: [], skipAnalysis: false,
    progressDeadlineSeconds: 600, metrics: [metric], webhooks: [webhook],
};
const inputs = {
    target: { name: "podinfo", namespace: "test" }, template: { spec: {} }, revision: "rev-1", analysis, routing: "nginx", ingressName: "podinfo",
    metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090 }, kubeconfig: "apiVersion: v1", canaryReplicas: 2, retry: false,
};

const usesConfig = { spec: { containers: [{ name: "podinfod", envFrom: [{ configMapRef: { name: "podinfo-config" } }, { secretRef: { name: "podinfo-secrets" } }] }] } };

const reasons = (over: Record<string, unknown>) => validateReleaseInputs({ ...inputs, ...over }).map((p) => p.reason);
const analysisReasons = (over: Record<string, unknown>) =>
    validateAnalysis({ ...analysis, ...over }, "analysis", "istio", undefined).map((p) => p.reason);

describe("provider/validate: release inputs", () => {
    it("the walkthrough inputs have no problem; nor do unknown (preview) values", () => {
        assert.deepEqual(validateReleaseInputs(inputs), []);
        const unknowns = Object.fromEntries(Object.keys(inputs).map((k) => [k, UNKNOWN]));
        assert.deepEqual(validateReleaseInputs(unknowns), []);
    });

    const cases: [string, Record<string, unknown>, string[]][] = [
        ["target not an object", { target: "podinfo" }, ['target: must be {name, namespace}, got "podinfo"']],
        ["target an array", { target: [] }, ["target: must be {name, namespace}, got []"]],
        ["target fields", { target: { name: "web-", namespace: "" } }, [
            "target.name: must be a DNS-1123 label (lowercase letters, digits, '-'), got \"web-\"",
            "target.namespace: must be a DNS-1123 label (lowercase letters, digits, '-'), got \"\"",
        ]],
        ["target fields unknown", { target: { name: UNKNOWN, namespace: UNKNOWN } }, []],
        ["a one-letter name is a label", { target: { name: "a", namespace: "b-1" } }, []],
        ["missing revision", { revision: undefined }, ["revision: must be a non-empty string, got nothing"]],
        ["blank revision", { revision: "  " }, ['revision: must be a non-empty string, got "  "']],
        ["template not an object", { template: "x" }, ['template: must be a pod template object, got "x"']],
        ["routing", { routing: 3 }, ["routing: must be one of nginx, linkerd, istio, got 3"]],
        ["linkerdRoute", { routing: "linkerd", linkerdRoute: "tcp" }, ['linkerdRoute: must be one of httproute, smi, got "tcp"']],
        ["linkerdRoute smi", { routing: "linkerd", linkerdRoute: "smi" }, []],
        ["nginx needs the Ingress", { ingressName: "Web" }, ["ingressName: must be the name of the app's Ingress (required for nginx routing), got \"Web\""]],
        ["istio does not", { routing: "istio", ingressName: undefined }, []],
        ["canaryReplicas 1 is enough", { canaryReplicas: 1 }, []],
        ["canaryReplicas 1.5", { canaryReplicas: 1.5 }, ["canaryReplicas: must be an integer >= 1, got 1.5"]],
        ["canaryReplicas a string", { canaryReplicas: "2" }, ['canaryReplicas: must be an integer >= 1, got "2"']],
        ["retry", { retry: "yes" }, ['retry: must be true or false, got "yes"']],
        ["kubeContext", { kubeContext: 7 }, ["kubeContext: must be a string, got 7"]],
        ["kubeContext unknown", { kubeContext: UNKNOWN }, []],
        ["tracked config the template uses", { template: usesConfig, configMaps: { "podinfo-config": { MESSAGE: "hi", "a.b-c_d": "" } }, secrets: { "podinfo-secrets": { TOKEN: "t" } } }, []],
        ["a tracked object the template does not use (a typo)", { template: usesConfig, configMaps: { "podinfo-cfg": {} } }, [
            'configMaps.podinfo-cfg: the pod template does not use this ConfigMap (env valueFrom, envFrom, volumes; it uses podinfo-config), got "podinfo-cfg"',
        ]],
        ["a template that uses no Secret", { template: { spec: {} }, secrets: { s: { A: "1" } } }, [
            'secrets.s: the pod template does not use this Secret (env valueFrom, envFrom, volumes; it uses none), got "s"',
        ]],
        ["tracked names and data", { template: usesConfig, configMaps: { "podinfo-config": { "bad key": "x", N: 1 }, Bad_Name: [] } }, [
            "configMaps.podinfo-config.bad key: the key must be letters, digits, '-', '_' or '.', got \"bad key\"",
            "configMaps.podinfo-config.N: must be a string, got 1",
            'configMaps.Bad_Name: the name must be a DNS-1123 subdomain of at most 245 characters (its copy is Bad_Name-primary), got "Bad_Name"',
            'configMaps.Bad_Name: the pod template does not use this ConfigMap (env valueFrom, envFrom, volumes; it uses podinfo-config), got "Bad_Name"',
            "configMaps.Bad_Name: must map keys to string values, got []",
        ]],
        ["a Secret's values are never shown", { template: usesConfig, secrets: { "podinfo-secrets": { TOKEN: 42 } } }, ["secrets.podinfo-secrets.TOKEN: must be a string, got \"[secret]\""]],
        ["tracked data unknown (preview)", { template: usesConfig, configMaps: UNKNOWN, secrets: { "podinfo-secrets": UNKNOWN } }, []],
        ["kubeconfig never shown", { kubeconfig: { token: "s3cr3t" } }, ['kubeconfig: must be a string, got "[secret]"']],
        ["kubeconfig unknown", { kubeconfig: UNKNOWN }, []],
        ["metricsServer missing", { metricsServer: undefined }, ["metricsServer: must be {url} or {service, namespace, port}, got nothing"]],
    ];
    for (const [name, over, want] of cases) it(name, () => assert.deepEqual(reasons(over), want));

    it("each problem names its property", () => {
        assert.deepEqual(validateReleaseInputs({ ...inputs, canaryReplicas: 0, analysis: { ...analysis, threshold: 0 } }).map((p) => p.property), ["canaryReplicas", "analysis.threshold"]);
    });

    it("a custom query is rendered for the routing and the Ingress of the inputs", () => {
        const q = { name: "errors", query: 'sum(x{ingress="{{ ingress }}"})', thresholdRange: { max: 1 }, interval: "1m", templateVariables: {} };
        assert.deepEqual(reasons({ analysis: { ...analysis, metrics: [q] } }), []);
        // istio has no Ingress: the query does not render
        assert.deepEqual(reasons({ routing: "istio", ingressName: undefined, analysis: { ...analysis, metrics: [q] } }).length, 1);
        // nginx without a valid Ingress name still renders the query (the Ingress problem is reported once)
        assert.deepEqual(reasons({ ingressName: UNKNOWN, analysis: { ...analysis, metrics: [q] } }), []);
    });
});

describe("provider/validate: analysis", () => {
    it("unknown is not validated; a non-object is one problem", () => {
        assert.deepEqual(validateAnalysis(UNKNOWN, "analysis", "nginx", "web"), []);
        assert.deepEqual(validateAnalysis([], "a", "nginx", "web").map((p) => p.reason), ["a: must be an object, got []"]);
        assert.deepEqual(validateAnalysis(null, "a", "nginx", "web").map((p) => p.property), ["a"]);
    });

    const cases: [string, Record<string, unknown>, string[]][] = [
        ["interval 1 is fine", { intervalSeconds: 1 }, []],
        ["threshold 1 is fine", { threshold: 1 }, []],
        ["progress deadline 0", { progressDeadlineSeconds: 0 }, ["analysis.progressDeadlineSeconds: must be an integer >= 1, got 0"]],
        ["skipAnalysis", { skipAnalysis: 1 }, ["analysis.skipAnalysis: must be true or false, got 1"]],
        ["iterations -1", { iterations: -1 }, ["analysis.iterations: must be an integer >= 0, got -1"]],
        ["stepWeights not a list", { stepWeights: "10,20" }, ['analysis.stepWeights: must be a list of weights, got "10,20"']],
        ["maxWeight 100 and stepWeight 100", { maxWeight: 100, stepWeight: 100 }, []],
        ["stepWeight equal to maxWeight", { stepWeight: 50 }, []],
        ["stepWeight 51 over maxWeight 50", { stepWeight: 51 }, ["analysis.stepWeight: must not exceed maxWeight 50, got 51"]],
        ["maxWeight 0", { maxWeight: 0 }, ["analysis.maxWeight: must be 1..100, got 0"]],
        ["stepWeight 0 on a ladder", { stepWeight: 0 }, ["analysis.stepWeight: must be 1..100, got 0"]],
        ["stepWeight 101", { stepWeight: 101 }, ["analysis.stepWeight: must be 1..100, got 101"]],
        ["stepWeight 0 with iterations", { stepWeight: 0, iterations: 3 }, []],
        ["stepWeight -1 with iterations", { stepWeight: -1, iterations: 3 }, ["analysis.stepWeight: must be 0..100, got -1"]],
        ["stepWeight 0 with stepWeights", { stepWeight: 0, stepWeights: [10, 50] }, []],
        ["stepWeight over maxWeight with stepWeights", { stepWeight: 60, stepWeights: [10, 50] }, []],
        ["stepWeight over maxWeight with iterations", { stepWeight: 60, iterations: 2 }, []],
        ["increasing stepWeights up to 100", { stepWeights: [1, 2, 100] }, []],
        ["a repeated stepWeight", { stepWeights: [10, 10] }, ["analysis.stepWeights[1]: must be greater than the previous weight 10, got 10"]],
        ["stepWeights out of range", { stepWeights: [0, 20, 101, 15] }, [
            "analysis.stepWeights[0]: must be 1..100, got 0",
            "analysis.stepWeights[2]: must be 1..100, got 101",
            "analysis.stepWeights[3]: must be greater than the previous weight 20, got 15",
        ]],
        ["match not a list", { match: {}, iterations: 1 }, ["analysis.match: must be a list of match conditions, got {}"]],
        ["match entries", { iterations: 2, match: ["x", {}, { cookie: "" }, { headers: [] }, { headers: { a: { exact: "1", regex: "1" }, b: {}, c: "x", d: { regex: "y" } } }] }, [
            'analysis.match[0]: must be an object with headers or cookie, got "x"',
            "analysis.match[1]: must set headers or cookie, got {}",
            'analysis.match[2].cookie: must be a non-empty string, got ""',
            "analysis.match[3].headers: must map header names to {exact} or {regex}, got []",
            'analysis.match[4].headers.a: must be {exact: string} or {regex: string}, got {"exact":"1","regex":"1"}',
            "analysis.match[4].headers.b: must be {exact: string} or {regex: string}, got {}",
            'analysis.match[4].headers.c: must be {exact: string} or {regex: string}, got "x"',
        ]],
        ["a cookie and a header together", { iterations: 1, match: [{ cookie: "canary", headers: { "x-canary": { exact: "insider" } } }] }, []],
        ["match without iterations", { match: [{ cookie: "canary" }] }, ["analysis.iterations: must be > 0 when match (A/B testing) is set, got 0"]],
        ["match with bad iterations is one problem", { iterations: "2", match: [{ cookie: "canary" }] }, ['analysis.iterations: must be an integer >= 0, got "2"']],
        ["metrics not a list", { metrics: "x" }, ['analysis.metrics: must be a list of metric checks, got "x"']],
        ["webhooks not a list", { webhooks: {} }, ["analysis.webhooks: must be a list of webhooks, got {}"]],
        ["a static split", { static: { weight: 20, soakSeconds: 30 } }, []],
        ["a static split's bounds", { static: { weight: 0, soakSeconds: 0.5 } }, ["analysis.static.weight: must be 1..100, got 0", "analysis.static.soakSeconds: must be an integer >= 1, got 0.5"]],
        ["a static split that is no object", { static: 20 }, ["analysis.static: must be an object with weight and soak, got 20"]],
        ["a static split with a ladder or iterations", { static: { weight: 20, soakSeconds: 30 }, stepWeights: [10], iterations: 2 }, [
            "analysis.iterations: cannot be set with analysis.static (one fixed weight for the soak time), got 2",
            "analysis.stepWeights: cannot be set with analysis.static (one fixed weight for the soak time), got [10]",
        ]],
        ["an error budget", { errorBudget: { slo: 99.9, windowSeconds: 2592000, maxBurnRate: 14.4, maxBudgetSpent: 2, interval: "1m" } }, []],
        ["an error budget's bounds", { errorBudget: { slo: 0, windowSeconds: 0, maxBurnRate: -1, maxBudgetSpent: 0, interval: "" } }, [
            "analysis.errorBudget.slo: must be a percentage of successful requests above 0 and below 100, such as 99.9, got 0",
            "analysis.errorBudget.maxBurnRate: must be a number > 0 (1 spends the budget exactly over the window), got -1",
            "analysis.errorBudget.maxBudgetSpent: must be a percentage of the window's budget, above 0 and at most 100, got 0",
            "analysis.errorBudget.windowSeconds: must be an integer >= 1, got 0",
            'analysis.errorBudget.interval: must be a Prometheus duration such as 1m or 30s, got ""',
        ]],
        ["an error budget unknown at preview", { errorBudget: UNKNOWN, static: UNKNOWN }, []],
        ["lists unknown", { stepWeights: UNKNOWN, match: UNKNOWN, metrics: UNKNOWN, webhooks: UNKNOWN }, []],
        ["missing lists", { stepWeights: undefined, match: undefined, metrics: undefined, webhooks: undefined }, [
            "analysis.stepWeights: must be a list of weights, got nothing",
            "analysis.match: must be a list of match conditions, got nothing",
            "analysis.metrics: must be a list of metric checks, got nothing",
            "analysis.webhooks: must be a list of webhooks, got nothing",
        ]],
    ];
    for (const [name, over, want] of cases) it(name, () => assert.deepEqual(analysisReasons(over), want));
});

describe("provider/validate: metrics", () => {
    const m = (over: Record<string, unknown>) => analysisReasons({ metrics: [{ ...metric, ...over }] });
    const cases: [string, Record<string, unknown>, string[]][] = [
        ["name", { name: "" }, ['analysis.metrics[0].name: must be a non-empty string, got ""']],
        ["interval 30s", { interval: "30s" }, []],
        ["a template's check with its own server and token", { builtin: undefined, query: "up", templateRef: "p99", source: { server: { url: "https://prom.example.com" }, bearerToken: "tok-1" } }, []],
        ["a template's check at a Service", { builtin: undefined, query: "up", templateRef: "p99", source: { server: { service: "prometheus", namespace: "monitoring", port: 9090 } } }, []],
        ["a template's source, bad", { builtin: undefined, query: "up", templateRef: "P 99", source: { server: { url: "prom" }, bearerToken: "" } }, [
            'analysis.metrics[0].templateRef: must be a template name (a DNS-1123 label), got "P 99"',
            'analysis.metrics[0].source.server.url: must be an http:// or https:// URL, got "prom"',
            "analysis.metrics[0].source.bearerToken: must be a non-empty string (a secret, not shown)",
        ]],
        ["a token through the service proxy", { builtin: undefined, query: "up", source: { server: { service: "prometheus", namespace: "monitoring", port: 9090 }, bearerToken: "tok-1" } }, [
            "analysis.metrics[0].source.bearerToken: needs a server by URL (through the API server's service proxy the Authorization header is the API server's)",
        ]],
        ["interval 1h30m", { interval: "1h30m" }, []],
        ["interval without a unit", { interval: "60" }, ['analysis.metrics[0].interval: must be a Prometheus duration such as 1m or 30s, got "60"']],
        ["interval with a trailing space", { interval: "1m " }, ['analysis.metrics[0].interval: must be a Prometheus duration such as 1m or 30s, got "1m "']],
        ["interval with text before", { interval: "x1m" }, ['analysis.metrics[0].interval: must be a Prometheus duration such as 1m or 30s, got "x1m"']],
        ["no thresholdRange", { thresholdRange: undefined }, ["analysis.metrics[0].thresholdRange: must set min, max or both, got nothing"]],
        ["max only", { thresholdRange: { max: 500 } }, []],
        ["min equal to max", { thresholdRange: { min: 5, max: 5 } }, []],
        ["min over max", { thresholdRange: { min: 6, max: 5 } }, ['analysis.metrics[0].thresholdRange: min must not exceed max, got {"min":6,"max":5}']],
        ["bounds not numbers", { thresholdRange: { min: "99", max: Infinity } }, [
            'analysis.metrics[0].thresholdRange.min: must be a number, got "99"',
            "analysis.metrics[0].thresholdRange.max: must be a number, got null",
        ]],
        ["builtin", { builtin: "latency" }, ['analysis.metrics[0].builtin: must be one of request-success-rate, request-duration, got "latency"']],
        ["request-duration", { builtin: "request-duration", thresholdRange: { max: 500 } }, []],
        ["templateVariables", { templateVariables: [] }, ["analysis.metrics[0].templateVariables: must map names to strings, got []"]],
        ["no templateVariables", { templateVariables: undefined }, []],
    ];
    for (const [name, over, want] of cases) it(name, () => assert.deepEqual(m(over), want));

    it("metric names are unique", () => {
        assert.deepEqual(analysisReasons({ metrics: [metric, { ...metric }, { ...metric, name: "other" }] }), ['analysis.metrics[1].name: must be unique among metrics, got "request-success-rate"']);
    });

    it("a metric that is not an object, or unknown", () => {
        assert.deepEqual(analysisReasons({ metrics: [7, UNKNOWN] }), ["analysis.metrics[0]: must be an object, got 7"]);
    });

    it("a query is rendered only for a known routing and a metric without other problems", () => {
        const bad = { name: "errors", query: "sum(x{a=\"{{ variables.nope }}\"})", thresholdRange: { max: 1 }, interval: "1m", templateVariables: {} };
        assert.deepEqual(analysisReasons({ metrics: [bad] }), ['analysis.metrics[0].query: does not render: metric "errors": template variable "variables.nope" is not defined (defined: none), got "sum(x{a=\\"{{ variables.nope }}\\"})"']);
        assert.deepEqual(validateAnalysis({ ...analysis, metrics: [bad] }, "analysis", undefined, undefined), []);
        assert.deepEqual(analysisReasons({ metrics: [{ ...bad, interval: "1 m" }] }).length, 1);
        assert.deepEqual(analysisReasons({ metrics: [{ ...bad, query: "sum(x{a=\"{{ variables.v }}\"})", templateVariables: { v: "1" } }] }), []);
    });

    it("a builtin that does not render names the builtin", () => {
        // nginx's builtins need the Ingress name
        const r = validateAnalysis({ ...analysis, metrics: [metric] }, "analysis", "nginx", undefined).map((p) => p.reason);
        assert.equal(r.length, 1);
        assert.match(r[0], /^analysis\.metrics\[0\]\.query: does not render: metric "request-success-rate": .*, got "request-success-rate"$/);
    });
});

describe("provider/validate: webhooks", () => {
    const h = (over: Record<string, unknown>) => analysisReasons({ webhooks: [{ ...webhook, ...over }] });
    const cases: [string, Record<string, unknown>, string[]][] = [
        ["name", { name: 3 }, ["analysis.webhooks[0].name: must be a non-empty string, got 3"]],
        ["type", { type: "post" }, ['analysis.webhooks[0].type: must be one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event, got "post"']],
        ["https", { url: "https://hooks.example.com/x" }, []],
        ["url without scheme", { url: "loadtester/" }, ['analysis.webhooks[0].url: must be an http:// or https:// URL, got "loadtester/"']],
        ["url with no host", { url: "http:///x" }, ['analysis.webhooks[0].url: must be an http:// or https:// URL, got "http:///x"']],
        ["url with text before", { url: "see http://x" }, ['analysis.webhooks[0].url: must be an http:// or https:// URL, got "see http://x"']],
        ["timeout 0", { timeoutSeconds: 0 }, ["analysis.webhooks[0].timeoutSeconds: must be an integer >= 1, got 0"]],
        ["retries 10", { retries: 10 }, []],
        ["retries 11", { retries: 11 }, ["analysis.webhooks[0].retries: must be 0..10, got 11"]],
        ["retries -1", { retries: -1 }, ["analysis.webhooks[0].retries: must be 0..10, got -1"]],
        ["metadata values", { metadata: { cmd: 1 } }, ['analysis.webhooks[0].metadata: must map names to strings, got {"cmd":1}']],
        ["metadata a list", { metadata: ["a"] }, ['analysis.webhooks[0].metadata: must map names to strings, got ["a"]']],
        ["metadata unknown or absent", { metadata: UNKNOWN }, []],
        ["no metadata", { metadata: undefined }, []],
    ];
    for (const [name, over, want] of cases) it(name, () => assert.deepEqual(h(over), want));

    it("webhook names are unique; a webhook that is not an object, or unknown", () => {
        assert.deepEqual(analysisReasons({ webhooks: [webhook, webhook, "x", UNKNOWN] }), [
            'analysis.webhooks[1].name: must be unique among webhooks, got "load-test"',
            'analysis.webhooks[2]: must be an object, got "x"',
        ]);
    });
});

describe("provider/validate: metrics server", () => {
    const cases: [string, unknown, string[]][] = [
        ["a service", { service: "prometheus", namespace: "monitoring", port: 9090 }, []],
        ["a URL", { url: "https://prometheus.example.com" }, []],
        ["unknown", UNKNOWN, []],
        ["a string", "prometheus:9090", ['metricsServer: must be {url} or {service, namespace, port}, got "prometheus:9090"']],
        ["both", { url: "http://p:9090", service: "p" }, ['metricsServer: set url or service, not both, got {"url":"http://p:9090","service":"p"}']],
        ["bad URL", { url: "ftp://p" }, ['metricsServer.url: must be an http:// or https:// URL, got "ftp://p"']],
        ["port bounds", { service: "p", namespace: "m", port: 65535 }, []],
        ["port 65536", { service: "p", namespace: "m", port: 65536 }, ["metricsServer.port: must be 1..65535, got 65536"]],
        ["service fields", { service: "P", namespace: "m_1", port: 1 }, [
            'metricsServer.service: must be a Service name, got "P"',
            'metricsServer.namespace: must be a namespace name, got "m_1"',
        ]],
    ];
    for (const [name, v, want] of cases) it(name, () => assert.deepEqual(validateMetricsServer(v).map((p) => p.reason), want));

    it("problems name the field", () => {
        assert.deepEqual(validateMetricsServer({ service: "p", namespace: "m", port: 0 }).map((p) => p.property), ["metricsServer.port"]);
    });
});
