import * as assert from "assert";
import { KubeEventSink, eventSubject } from "../../../components/canary/events/kube";
import { ReleaseEvent } from "../../../components/canary/events/sink";
import { KubeApi } from "../../../components/canary/kube/api";

// KubeEventSink over a KubeApi that records event calls.
function recorder(fail?: Error) {
    const calls: unknown[][] = [];
    const api = {
        event: async (...args: unknown[]) => {
            if (fail !== undefined) {
                throw fail;
            }
            calls.push(args);
        },
    } as unknown as KubeApi;
    return { api, calls };
}

const target = { name: "podinfo", namespace: "test" };
const halt: ReleaseEvent = { type: "Warning", reason: "Synced", message: "Halt podinfo.test advancement success rate 91.60% < 99%" };

describe("events/kube", () => {
    it("records each event on the Deployment <app>-canary, in order, as given", async () => {
        const { api, calls } = recorder();
        const sink = new KubeEventSink(api);
        await sink.emit(target, { type: "Normal", reason: "Synced", message: "New revision detected! Scaling up podinfo.test" });
        await sink.emit(target, halt);
        const subject = { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo-canary" };
        assert.deepStrictEqual(calls, [
            ["test", subject, "Normal", "Synced", "New revision detected! Scaling up podinfo.test"],
            ["test", subject, "Warning", "Synced", "Halt podinfo.test advancement success rate 91.60% < 99%"],
        ]);
        assert.deepStrictEqual(eventSubject(target), subject);
    });

    it("rejects when the Event cannot be written, unless onError is given", async () => {
        const { api } = recorder(new Error("create Event podinfo-canary.x.test: HTTP 403 Forbidden: no"));
        await assert.rejects(new KubeEventSink(api).emit(target, halt), /HTTP 403 Forbidden/);
        const seen: string[] = [];
        await new KubeEventSink(api, { onError: (e, ev) => seen.push(`${ev.message} | ${e.message}`) }).emit(target, halt);
        assert.deepStrictEqual(seen, ["Halt podinfo.test advancement success rate 91.60% < 99% | create Event podinfo-canary.x.test: HTTP 403 Forbidden: no"]);
    });
});
