// A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on a free loopback port, in
// memory only: where the releases of a test push their state.
import { Proc, freePort, httpGet, requireBinary, start, startOnPort, waitFor } from "./process";

export const PUSHGATEWAY_HINT = "apt-get install -y prometheus-pushgateway";

export class PushgatewayServer {
    private proc: Proc | undefined;

    private constructor(readonly binary: string, public port: number) {}

    static async start(): Promise<PushgatewayServer> {
        const binary = requireBinary("prometheus-pushgateway", ["/usr/bin/prometheus-pushgateway"], PUSHGATEWAY_HINT);
        const server = new PushgatewayServer(binary, await freePort());
        await server.run();
        return server;
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** host:port, as a scrape target. */
    get target(): string {
        return `127.0.0.1:${this.port}`;
    }

    get pid(): number | undefined {
        return this.proc?.running === true ? this.proc.pid : undefined;
    }

    private async run(): Promise<void> {
        const started = await startOnPort(this.port,
            (port) => start("pushgateway", this.binary, [`--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"]),
            (proc, port) => waitFor("pushgateway /-/ready", async () => (await httpGet(`http://127.0.0.1:${port}/-/ready`)).status === 200, 15000, proc));
        this.proc = started.proc;
        this.port = started.port;
    }

    /** The pushed groups' series as text (GET /metrics), for assertions. */
    async metrics(): Promise<string> {
        return (await httpGet(`${this.url}/metrics`)).body;
    }

    async stop(): Promise<void> {
        await this.proc?.stop(5000);
    }
}
