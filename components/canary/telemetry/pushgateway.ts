// Pushes each app's release metrics to a Prometheus Pushgateway, and a StatusStore that does
// so at every save: the engine saves its state after every step, so the series follow the
// release step by step. A failing push never fails a release: it is one line in the output,
// once per run of failures.
import axios, { AxiosInstance } from "axios";
import { Clock } from "../engine/clock";
import { ReleaseStore } from "../engine/scheduler";
import { ReleaseState, Target } from "../engine/types";
import { groupPath, releaseMetricsText, statusValue } from "./releaseMetrics";

export interface ReleaseMetricsSink {
    push(target: Target, state: ReleaseState): Promise<void>;
    remove(target: Target): Promise<void>;
}

export class PushgatewayClient implements ReleaseMetricsSink {
    private connection: Promise<{ baseURL: string; axios?: AxiosInstance }> | undefined;

    /**
     * `connect` gives the Pushgateway's base URL (`http://pushgateway.monitoring:9091`, or the API
     * server's service proxy to it with a client carrying the kubeconfig's credentials); it is
     * called once, at the first push.
     */
    constructor(private readonly connect: () => Promise<{ baseURL: string; axios?: AxiosInstance }>, private readonly clock: Pick<Clock, "now">, private readonly timeoutMs = 3000) {}

    async push(target: Target, state: ReleaseState): Promise<void> {
        const { url, http } = await this.at(target);
        // PUT replaces the app's whole group, so a series of an earlier state never lingers
        await http.put(url, releaseMetricsText(state, this.clock.now()), { headers: { "Content-Type": "text/plain; version=0.0.4" }, timeout: this.timeoutMs });
    }

    async remove(target: Target): Promise<void> {
        const { url, http } = await this.at(target);
        await http.delete(url, { timeout: this.timeoutMs });
    }

    private async at(target: Target): Promise<{ url: string; http: AxiosInstance }> {
        this.connection = this.connection ?? this.connect();
        const c = await this.connection.catch((err: unknown) => {
            this.connection = undefined;
            throw err;
        });
        return { url: `${c.baseURL.replace(/\/$/, "")}${groupPath(target)}`, http: c.axios ?? axios };
    }
}

/** After a failed push, the steps of the next 30 s skip theirs: an unreachable Pushgateway must not slow every step by a timeout. */
export const PUSH_BACKOFF_MS = 30_000;

/**
 * Saves through `inner`, then pushes the state; a push that fails is logged, never thrown.
 * While backing off after a failure only a release's result (succeeded, failed) is pushed, so
 * the last state still lands once the Pushgateway answers again.
 */
export class PushingStatusStore implements ReleaseStore {
    private failing = false;
    private retryAt = 0;

    constructor(
        private readonly inner: ReleaseStore, private readonly sink: ReleaseMetricsSink, private readonly clock: Pick<Clock, "now">,
        private readonly log: (line: string) => void, private readonly where: string,
    ) {}

    async save(target: Target, state: ReleaseState): Promise<void> {
        await this.inner.save(target, state);
        if (this.clock.now() < this.retryAt && statusValue(state.phase) === 0) return;
        await this.quietly(() => this.sink.push(target, state));
    }

    load(target: Target): Promise<ReleaseState | undefined> {
        return this.inner.load(target);
    }

    /** The release is deleted: its series go with it. */
    async remove(target: Target): Promise<void> {
        await this.inner.remove(target);
        await this.quietly(() => this.sink.remove(target));
    }

    private async quietly(f: () => Promise<void>): Promise<void> {
        try {
            await f();
            if (this.failing) this.log(`release metrics: pushing to ${this.where} works again`);
            this.failing = false;
        } catch (err) {
            if (!this.failing) this.log(`! release metrics: push to ${this.where} failed (the release goes on; later failures are not repeated): ${describe(err)}`);
            this.failing = true;
            this.retryAt = this.clock.now() + PUSH_BACKOFF_MS;
        }
    }
}

function describe(err: unknown): string {
    if (axios.isAxiosError(err)) return err.response !== undefined ? `status ${err.response.status}` : err.code ?? err.message;
    return err instanceof Error ? err.message : String(err);
}
