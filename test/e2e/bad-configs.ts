// The malformed stack configs the bad-config tier feeds to `pulumi preview` and `pulumi up`:
// each is a set of `canary:` keys put on a working stack, and the text its error must hold,
// naming the key and, where the program sees it, the value. The CLI checks Pulumi.yaml's types
// itself (its message names the key only); everything else is the program's readStackConfig.
export interface BadConfig {
    readonly name: string;
    /** Keys (without `canary:`) set on top of the working stack's config; objects go in as YAML. */
    readonly config?: Record<string, unknown>;
    /** Keys set with `pulumi config set --secret`. */
    readonly secrets?: Record<string, string>;
    /** What the CLI's output must contain. */
    readonly error: string;
}

const metric = (extra: Record<string, unknown>) => ({ analysis: { metrics: [{ name: "request-success-rate", interval: "1m", thresholdRange: { min: 99 }, ...extra }] } });
const webhook = (extra: Record<string, unknown>) => ({ analysis: { webhooks: [{ name: "gate", type: "confirm-rollout", url: "http://flagger-loadtester.test/gate/approve", ...extra }] } });
const cliType = (key: string, type: string) => `with configuration key 'canary:${key}' must be of type '${type}'`;

export const BAD_CONFIGS: readonly BadConfig[] = [
    // Pulumi.yaml's types, checked by the CLI before the program runs
    { name: "replicas not an integer", config: { replicas: "two" }, error: cliType("replicas", "integer") },
    { name: "replicas a fraction", config: { replicas: 1.5 }, error: cliType("replicas", "integer") },
    { name: "installPrometheus not a boolean", config: { installPrometheus: "yes" }, error: cliType("installPrometheus", "boolean") },
    { name: "retry not a boolean", config: { retry: "sometimes" }, error: cliType("retry", "boolean") },
    { name: "analysis not an object", config: { analysis: "fast" }, error: cliType("analysis", "object") },
    { name: "analysis a list", config: { analysis: [1, 2] }, error: cliType("analysis", "object") },

    // top-level keys
    { name: "unknown routing", config: { routing: "traefik" }, error: 'canary:routing: must be one of nginx, linkerd, istio, got "traefik"' },
    { name: "unknown cluster", config: { cluster: "docker-desktop" }, error: 'canary:cluster: must be one of kind, minikube, got "docker-desktop"' },
    { name: "unknown linkerdRoute", config: { linkerdRoute: "grpcroute" }, error: 'canary:linkerdRoute: must be one of httproute, smi, got "grpcroute"' },
    { name: "namespace not a DNS label", config: { namespace: "Test_NS" }, error: 'canary:namespace: must be a DNS-1123 label, got "Test_NS"' },
    { name: "appName not a DNS label", config: { appName: "PodInfo" }, error: 'canary:appName: must be a DNS-1123 label of at most 40 characters, got "PodInfo"' },
    { name: "appName too long", config: { appName: "a".repeat(41) }, error: `canary:appName: must be a DNS-1123 label of at most 40 characters, got "${"a".repeat(41)}"` },
    { name: "image empty", config: { image: " " }, error: 'canary:image: must be an image reference, got " "' },
    { name: "replicas zero", config: { replicas: 0 }, error: 'canary:replicas: must be an integer >= 1, got "0"' },
    { name: "two meshes", config: { installLinkerd: true, installIstio: true }, error: "canary:installIstio: cannot be true together with installLinkerd (one mesh per cluster), got true" },
    { name: "kubeconfig in plaintext", config: { kubeconfig: "apiVersion: v1\nkind: Config\n" }, error: "canary:kubeconfig: must be set as a secret (pulumi config set --secret canary:kubeconfig < FILE), got a plaintext value (not shown)" },
    { name: "kubeconfig blank", secrets: { kubeconfig: "  " }, error: 'canary:kubeconfig: must be kubeconfig contents, or "" for the ambient kubeconfig, got a blank value' },
    { name: "chart source with an unknown scheme", config: { installIngressNginx: true, ingressNginxCharts: "ftp://charts.example.com" }, error: 'canary:ingressNginxCharts: must be a Helm repository URL (http://, https:// or oci://) or a chart folder, got "ftp://charts.example.com"' },
    { name: "chart folder that does not exist", config: { installIngressNginx: true, ingressNginxCharts: "/nonexistent/charts" }, error: 'canary:ingressNginxCharts: no folder /nonexistent/charts, got "/nonexistent/charts"' },
    { name: "chart folder without the chart", config: { installIngressNginx: true, ingressNginxCharts: "test" }, error: "canary:ingressNginxCharts: no chart folder ingress-nginx in" },
    { name: "metricsServer neither URL nor object", config: { metricsServer: "prometheus:9090" }, error: 'canary:metricsServer: must be an http(s) URL or {service, namespace, port}, got "prometheus:9090"' },
    { name: "metricsServer without a port", config: { metricsServer: { service: "prometheus", namespace: "monitoring" } }, error: "canary:metricsServer.port: must be 1..65535, got nothing" },
    { name: "metricsServer port out of range", config: { metricsServer: { service: "prometheus", namespace: "monitoring", port: 70000 } }, error: "canary:metricsServer.port: must be 1..65535, got 70000" },

    // unknown keys: a typo must not pass as the default
    { name: "unknown top-level key", config: { imgae: "ghcr.io/stefanprodan/podinfo:6.5.4" }, error: 'canary:imgae: unknown key (did you mean canary:image?), got "ghcr.io/stefanprodan/podinfo:6.5.4"' },
    { name: "top-level key in the wrong case", config: { Routing: "istio" }, error: 'canary:Routing: unknown key (did you mean canary:routing?), got "istio"' },
    { name: "alert providers in plaintext", config: { alertProviders: { chat: { type: "slack", address: "https://hooks.slack.com/services/T0/B0/x" } } }, error: "canary:alertProviders: must be set as a secret (its addresses carry tokens: pulumi config set --secret --path 'canary:alertProviders.NAME.address' URL), got a plaintext value (not shown)" },
    { name: "alert naming no provider", config: { analysis: { alerts: [{ name: "chat", providerRef: { name: "chat" } }] } }, error: 'canary:analysis.alerts[0].providerRef.name: must name a provider of canary:alertProviders (none is set), got "chat"' },
    { name: "alert severity unknown", config: { analysis: { alerts: [{ name: "chat", severity: "critical", providerRef: { name: "chat" } }] } }, error: 'canary:analysis.alerts[0].severity: must be one of info, warn, error, got "critical"' },
    { name: "alert key misspelt", config: { analysis: { alerts: [{ name: "chat", severty: "warn", providerRef: { name: "chat" } }] } }, error: 'canary:analysis.alerts[0].severty: unknown key (did you mean severity?), got "warn"' },
    { name: "app secrets in plaintext", config: { appSecrets: { API_TOKEN: "s3cret" } }, error: "canary:appSecrets: must be set as a secret (pulumi config set --secret --path 'canary:appSecrets.NAME' VALUE), got a plaintext value (not shown)" },
    { name: "app config variable name", config: { appConfig: { "ui-message": "hi" } }, error: "canary:appConfig.ui-message: the name must be an environment variable name (letters, digits, '_', not starting with a digit), got \"ui-message\"" },
    // Pulumi.yaml declares it an object: the CLI refuses a list before the program runs
    { name: "app config not an object", config: { appConfig: ["PODINFO_UI_MESSAGE=hi"] }, error: "configuration key 'canary:appConfig' must be of type 'object'" },
    { name: "metric naming no template", config: { analysis: { metrics: [{ name: "p99", templateRef: { name: "latency" }, thresholdRange: { max: 500 } }] } }, error: 'canary:analysis.metrics[0].templateRef.name: must name a template of canary:metricTemplates (none is set), got "latency"' },
    { name: "metric template token in plaintext", config: { metricTemplates: { latency: { provider: { address: "https://prom.example.com", bearerToken: "tok" }, query: "up" } } }, error: "canary:metricTemplates.latency.provider.bearerToken: must be set as a secret (pulumi config set --secret --path 'canary:metricTemplates.latency.provider.bearerToken' TOKEN), got a plaintext value (not shown)" },
    { name: "metric template not rendering", config: { metricTemplates: { latency: { query: "x{app=\"{{ variables.app }}\"}" } }, analysis: { metrics: [{ name: "p99", templateRef: { name: "latency" }, thresholdRange: { max: 500 } }] } }, error: "canary:analysis.metrics[0].query: does not render" },
    { name: "unknown secret key", secrets: { kubeconfg: "apiVersion: v1\n" }, error: "canary:kubeconfg: unknown key (did you mean canary:kubeconfig?), got a secret value (not shown)" },
    { name: "unknown analysis key", config: { analysis: { stepweight: 5 } }, error: "canary:analysis.stepweight: unknown key (did you mean stepWeight?), got 5" },
    { name: "unknown metric key", config: metric({ treshold: 99 }), error: "canary:analysis.metrics[0].treshold: unknown key, got 99" },
    { name: "unknown threshold bound", config: metric({ thresholdRange: { minimum: 99 } }), error: "canary:analysis.metrics[0].thresholdRange.minimum: unknown key, got 99" },
    { name: "unknown webhook key", config: webhook({ tiemout: "5s" }), error: 'canary:analysis.webhooks[0].tiemout: unknown key (did you mean timeout?), got "5s"' },
    { name: "unknown match key", config: { analysis: { iterations: 3, match: [{ header: { "x-canary": { exact: "insider" } } }] } }, error: 'canary:analysis.match[0].header: unknown key (did you mean headers?), got {"x-canary":{"exact":"insider"}}' },
    { name: "unknown header condition", config: { analysis: { iterations: 3, match: [{ headers: { "x-canary": { prefix: "in" } } }] } }, error: 'canary:analysis.match[0].headers.x-canary.prefix: unknown key, got "in"' },
    { name: "unknown metricsServer key", config: { metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090, tls: true } }, error: "canary:metricsServer.tls: unknown key, got true" },

    // the ladder
    { name: "interval not a duration", config: { analysis: { interval: "soon" } }, error: 'canary:analysis.interval: must be a duration such as 30s, 1m, 1m30s or 30d, got "soon"' },
    { name: "interval zero", config: { analysis: { interval: "0s" } }, error: 'canary:analysis.interval: must be a duration such as 30s, 1m, 1m30s or 30d, got "0s"' },
    { name: "interval in weeks", config: { analysis: { interval: "1w" } }, error: 'canary:analysis.interval: must be a duration such as 30s, 1m, 1m30s or 30d, got "1w"' },
    { name: "threshold zero", config: { analysis: { threshold: 0 } }, error: "canary:analysis.threshold: must be an integer >= 1, got 0" },
    { name: "threshold a fraction", config: { analysis: { threshold: 2.5 } }, error: "canary:analysis.threshold: must be an integer >= 1, got 2.5" },
    { name: "maxWeight over 100", config: { analysis: { maxWeight: 101 } }, error: "canary:analysis.maxWeight: must be 1..100, got 101" },
    { name: "maxWeight zero", config: { analysis: { maxWeight: 0 } }, error: "canary:analysis.maxWeight: must be 1..100, got 0" },
    { name: "stepWeight zero", config: { analysis: { stepWeight: 0 } }, error: "canary:analysis.stepWeight: must be 1..100, got 0" },
    { name: "stepWeight negative", config: { analysis: { stepWeight: -10 } }, error: "canary:analysis.stepWeight: must be 1..100, got -10" },
    { name: "stepWeight above maxWeight", config: { analysis: { stepWeight: 60, maxWeight: 50 } }, error: "canary:analysis.stepWeight: must not exceed maxWeight 50, got 60" },
    { name: "stepWeights not increasing", config: { analysis: { stepWeights: [20, 10] } }, error: "canary:analysis.stepWeights[1]: must be greater than the previous weight 20, got 10" },
    { name: "stepWeights with a zero", config: { analysis: { stepWeights: [0, 50] } }, error: "canary:analysis.stepWeights[0]: must be 1..100, got 0" },
    { name: "stepWeights over 100", config: { analysis: { stepWeights: [50, 120] } }, error: "canary:analysis.stepWeights[1]: must be 1..100, got 120" },
    { name: "stepWeights not a list", config: { analysis: { stepWeights: "10,20" } }, error: 'canary:analysis.stepWeights: must be a list of weights, got "10,20"' },
    { name: "iterations negative", config: { analysis: { iterations: -1 } }, error: "canary:analysis.iterations: must be an integer >= 0, got -1" },
    { name: "progressDeadlineSeconds zero", config: { analysis: { progressDeadlineSeconds: 0 } }, error: "canary:analysis.progressDeadlineSeconds: must be an integer >= 1, got 0" },
    { name: "skipAnalysis not a boolean", config: { analysis: { skipAnalysis: "yes" } }, error: 'canary:analysis.skipAnalysis: must be true or false, got "yes"' },
    { name: "match without iterations", config: { analysis: { match: [{ headers: { "x-canary": { exact: "insider" } } }] } }, error: "canary:analysis.iterations: must be > 0 when match (A/B testing) is set, got 0" },
    { name: "match condition empty", config: { analysis: { iterations: 3, match: [{}] } }, error: "canary:analysis.match[0]: must set headers or cookie, got {}" },
    { name: "header with both exact and regex", config: { analysis: { iterations: 3, match: [{ headers: { "x-canary": { exact: "a", regex: "b" } } }] } }, error: 'canary:analysis.match[0].headers.x-canary: must be {exact: string} or {regex: string}, got {"exact":"a","regex":"b"}' },
    { name: "match not a list", config: { analysis: { iterations: 3, match: { headers: {} } } }, error: 'canary:analysis.match: must be a list of match conditions, got {"headers":{}}' },

    // static split and error budget
    { name: "static weight over 100", config: { analysis: { static: { weight: 120, soak: "1m" } } }, error: "canary:analysis.static.weight: must be 1..100, got 120" },
    { name: "static without a soak", config: { analysis: { static: { weight: 20 } } }, error: "canary:analysis.static.soak: must be set, a duration such as 30s, 1m, 1m30s or 30d, got nothing" },
    { name: "static beside a ladder", config: { analysis: { stepWeight: 10, static: { weight: 20, soak: "1m" } } }, error: "canary:analysis.stepWeight: cannot be set with analysis.static (one fixed weight for the soak time), got 10" },
    { name: "static beside A/B", config: { analysis: { iterations: 3, match: [{ cookie: "canary" }], static: { weight: 20, soak: "1m" } } }, error: "canary:analysis.iterations: cannot be set with analysis.static (one fixed weight for the soak time), got 3" },
    { name: "error budget SLO of 100", config: { analysis: { errorBudget: { slo: 100, window: "30d", maxBurnRate: 10 } } }, error: "canary:analysis.errorBudget.slo: must be a percentage of successful requests above 0 and below 100, such as 99.9, got 100" },
    { name: "error budget window not a duration", config: { analysis: { errorBudget: { slo: 99.9, window: "a month", maxBurnRate: 10 } } }, error: 'canary:analysis.errorBudget.window: must be a duration such as 30s, 1m, 1m30s or 30d, got "a month"' },
    { name: "error budget without a burn rate", config: { analysis: { errorBudget: { slo: 99.9, window: "30d" } } }, error: "canary:analysis.errorBudget.maxBurnRate: must be a number > 0 (1 spends the budget exactly over the window), got nothing" },
    { name: "error budget key misspelt", config: { analysis: { errorBudget: { slo: 99.9, window: "30d", maxBurnrate: 10 } } }, error: "canary:analysis.errorBudget.maxBurnrate: unknown key (did you mean maxBurnRate?), got 10" },

    // metrics
    { name: "metric without thresholdRange", config: { analysis: { metrics: [{ name: "request-success-rate", interval: "1m" }] } }, error: "canary:analysis.metrics[0].thresholdRange: must set min, max or both, got {}" },
    { name: "threshold min above max", config: metric({ thresholdRange: { min: 99, max: 90 } }), error: 'canary:analysis.metrics[0].thresholdRange: min must not exceed max, got {"max":90,"min":99}' },
    { name: "threshold bound not a number", config: metric({ thresholdRange: { min: "high" } }), error: 'canary:analysis.metrics[0].thresholdRange.min: must be a number, got "high"' },
    { name: "metric interval not a Prometheus duration", config: metric({ interval: "1 minute" }), error: 'canary:analysis.metrics[0].interval: must be a Prometheus duration such as 1m or 30s, got "1 minute"' },
    { name: "metric names not unique", config: { analysis: { metrics: [{ name: "m", query: "1", interval: "1m", thresholdRange: { min: 1 } }, { name: "m", query: "2", interval: "1m", thresholdRange: { min: 1 } }] } }, error: 'canary:analysis.metrics[1].name: must be unique among metrics, got "m"' },
    { name: "metric without a name", config: { analysis: { metrics: [{ query: "1", interval: "1m", thresholdRange: { min: 1 } }] } }, error: "canary:analysis.metrics[0].name: must be a non-empty string, got nothing" },
    { name: "query with an unknown placeholder", config: { analysis: { metrics: [{ name: "errors", query: "sum(rate(x{ns=\"{{ namespace }}\",pod=~\"{{ bogus }}\"}[1m]))", interval: "1m", thresholdRange: { max: 1 } }] } }, error: "canary:analysis.metrics[0].query: does not render:" },
    { name: "custom metric without a query", config: { analysis: { metrics: [{ name: "p99", interval: "1m", thresholdRange: { max: 1 } }] } }, error: "canary:analysis.metrics[0].query: does not render:" },
    { name: "metrics not a list", config: { analysis: { metrics: "request-success-rate" } }, error: 'canary:analysis.metrics: must be a list of metric checks, got "request-success-rate"' },
    { name: "templateVariables not a map", config: metric({ name: "errors", query: "sum({{ variables.x }})", templateVariables: ["x"] }), error: 'canary:analysis.metrics[0].templateVariables: must map names to strings, got ["x"]' },

    // webhooks
    { name: "unknown hook type", config: webhook({ type: "later" }), error: 'canary:analysis.webhooks[0].type: must be one of' },
    { name: "webhook URL with an unknown scheme", config: webhook({ url: "ftp://flagger-loadtester.test/" }), error: 'canary:analysis.webhooks[0].url: must be an http:// or https:// URL, got "ftp://flagger-loadtester.test/"' },
    { name: "webhook URL not a URL", config: webhook({ url: "flagger-loadtester" }), error: 'canary:analysis.webhooks[0].url: must be an http:// or https:// URL, got "flagger-loadtester"' },
    { name: "webhook without a URL", config: { analysis: { webhooks: [{ name: "gate", type: "pre-rollout" }] } }, error: "canary:analysis.webhooks[0].url: must be an http:// or https:// URL, got nothing" },
    { name: "webhook timeout not a duration", config: webhook({ timeout: "forever" }), error: 'canary:analysis.webhooks[0].timeout: must be a duration such as 30s, 1m, 1m30s or 30d, got "forever"' },
    { name: "webhook retries over 10", config: webhook({ retries: 11 }), error: "canary:analysis.webhooks[0].retries: must be 0..10, got 11" },
    { name: "webhook names not unique", config: { analysis: { webhooks: [{ name: "gate", url: "http://a.test/" }, { name: "gate", url: "http://b.test/" }] } }, error: 'canary:analysis.webhooks[1].name: must be unique among webhooks, got "gate"' },
    { name: "webhook metadata not strings", config: webhook({ metadata: { cmd: 1 } }), error: 'canary:analysis.webhooks[0].metadata: must map names to strings, got {"cmd":1}' },
    { name: "webhooks not a list", config: { analysis: { webhooks: { name: "gate" } } }, error: 'canary:analysis.webhooks: must be a list of webhooks, got {"name":"gate"}' },
];

