// A real Prometheus started by the test: generated config scraping the test exporter every
// second, its own TSDB in the scenario's temp dir, listening on a free loopback port.
import * as fs from "fs";
import * as path from "path";
import { Proc, freePort, httpGet, requireBinary, start, startOnPort, waitFor } from "./process";

export class PrometheusServer {
    private proc: Proc | undefined;

    /** Chosen free at create; `start` takes another one if it was taken meanwhile. */
    port: number;

    private constructor(readonly binary: string, readonly dir: string, port: number) {
        this.port = port;
    }

    static async create(dir: string): Promise<PrometheusServer> {
        const binary = requireBinary("prometheus", ["/usr/bin/prometheus"]);
        return new PrometheusServer(binary, dir, await freePort());
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    get running(): boolean {
        return this.proc?.running ?? false;
    }

    get pid(): number | undefined {
        return this.proc?.running === true ? this.proc.pid : undefined;
    }

    /**
     * Scrapes `scrapeTargets` every second; with `pushgateway` (host:port), also that, as the
     * stack's Prometheus does (honor_labels); with `ruleFile`, evaluates its rules every second.
     */
    async start(scrapeTargets: readonly string[], opts: { pushgateway?: string; ruleFile?: string } = {}): Promise<void> {
        const config = [
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "  evaluation_interval: 1s",
            ...(opts.ruleFile === undefined ? [] : ["rule_files:", `  - ${JSON.stringify(opts.ruleFile)}`]),
            "scrape_configs:",
            "  - job_name: canary-it",
            "    static_configs:",
            `      - targets: [${scrapeTargets.map((t) => JSON.stringify(t)).join(", ")}]`,
            ...(opts.pushgateway === undefined ? [] : [
                "  - job_name: pushgateway",
                "    honor_labels: true",
                "    static_configs:",
                `      - targets: [${JSON.stringify(opts.pushgateway)}]`,
            ]),
            "",
        ].join("\n");
        const configPath = path.join(this.dir, "prometheus.yml");
        fs.writeFileSync(configPath, config);
        const started = await startOnPort(this.port, (port) => {
            this.port = port;
            this.proc = start("prometheus", this.binary, [
                `--config.file=${configPath}`,
                `--storage.tsdb.path=${path.join(this.dir, "tsdb")}`,
                `--web.listen-address=127.0.0.1:${port}`,
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ]);
            return this.proc;
        }, (proc) => waitFor("prometheus /-/ready", async () => (await httpGet(`${this.url}/-/ready`)).status === 200, 30000, proc));
        this.port = started.port;
        // ready to serve queries once every target has been scraped once (the Pushgateway too)
        await waitFor("prometheus to scrape the exporter", async () => {
            const r = await httpGet(`${this.url}/api/v1/query?query=${encodeURIComponent('up{job="canary-it"} == 1')}`);
            const body = JSON.parse(r.body) as { data: { result: unknown[] } };
            return body.data.result.length === scrapeTargets.length;
        }, 15000, this.proc);
        if (opts.pushgateway !== undefined) {
            await waitFor("prometheus to scrape the pushgateway", async () => (await this.query('up{job="pushgateway"} == 1')).length === 1, 15000, this.proc);
        }
    }

    /** Instant query, for assertions (the engine goes through PrometheusProvider). */
    async query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
        const r = await httpGet(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
        const body = JSON.parse(r.body) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        if (body.status !== "success") throw new Error(`prometheus query failed: ${body.error ?? r.body}\n${promql}`);
        return body.data.result;
    }

    /** The values of a range query over the last `seconds`, at 1 s steps, every series together. */
    async queryRange(promql: string, seconds: number): Promise<number[]> {
        const end = Date.now() / 1000;
        const q = new URLSearchParams({ query: promql, start: String(end - seconds), end: String(end), step: "1" });
        const r = await httpGet(`${this.url}/api/v1/query_range?${q}`);
        const body = JSON.parse(r.body) as { status: string; error?: string; data: { result: { values: [number, string][] }[] } };
        if (body.status !== "success") throw new Error(`prometheus range query failed: ${body.error ?? r.body}\n${promql}`);
        return body.data.result.flatMap((x) => x.values.map((v) => Number(v[1])));
    }

    /** SIGKILL: the "Prometheus died mid-analysis" case. */
    async kill(): Promise<void> {
        await this.proc?.kill();
    }

    async stop(): Promise<void> {
        await this.proc?.stop(5000);
    }
}
