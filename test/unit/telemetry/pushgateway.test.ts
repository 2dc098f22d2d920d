// PushingStatusStore: saves first, pushes after, never throws a push failure, backs off.
import * as assert from "assert";
import { ReleaseStore } from "../../../components/canary/engine/scheduler";
import { ReleaseState, Target } from "../../../components/canary/engine/types";
import { PUSH_BACKOFF_MS, PushingStatusStore, ReleaseMetricsSink } from "../../../components/canary/telemetry/pushgateway";

const target: Target = { name: "podinfo", namespace: "test" };
const state = (phase: ReleaseState["phase"]): ReleaseState => ({
    phase, revision: "r2", promotedRevision: "r1", failedRevision: "", canaryWeight: 10, step: 1, failedChecks: 0,
    rolloutConfirmed: true, preRolloutDone: true, startedAt: 0, lastTransitionAt: 0, message: "",
});

function rig(fail: () => boolean) {
    const saved: string[] = [];
    const pushed: string[] = [];
    const lines: string[] = [];
    let now = 1_000;
    const inner: ReleaseStore = { save: async (_t, s) => void saved.push(s.phase), load: async () => undefined, remove: async () => void saved.push("removed") };
    const sink: ReleaseMetricsSink = {
        push: async (_t, s) => {
            pushed.push(s.phase);
            if (fail()) throw new Error("connect ECONNREFUSED");
        },
        remove: async () => void pushed.push("removed"),
    };
    const store = new PushingStatusStore(inner, sink, { now: () => now }, (l) => lines.push(l), "http://pg:9091");
    return { store, saved, pushed, lines, advance: (ms: number) => (now += ms) };
}

describe("PushingStatusStore", () => {
    it("saves, then pushes every state; removing removes the group", async () => {
        const r = rig(() => false);
        await r.store.save(target, state("Progressing"));
        await r.store.save(target, state("Succeeded"));
        await r.store.remove(target);
        assert.deepStrictEqual(r.saved, ["Progressing", "Succeeded", "removed"]);
        assert.deepStrictEqual(r.pushed, ["Progressing", "Succeeded", "removed"]);
        assert.deepStrictEqual(r.lines, []);
    });

    it("a failing push is one line, never an error; running steps skip theirs for the backoff, a result is always tried", async () => {
        let failing = true;
        const r = rig(() => failing);
        await r.store.save(target, state("Progressing"));
        await r.store.save(target, state("Progressing"));
        assert.deepStrictEqual(r.pushed, ["Progressing"], "the second step did not wait on an unreachable Pushgateway");
        await r.store.save(target, state("Failed"));
        assert.deepStrictEqual(r.pushed, ["Progressing", "Failed"]);
        assert.deepStrictEqual(r.lines, ["! release metrics: push to http://pg:9091 failed (the release goes on; later failures are not repeated): connect ECONNREFUSED"]);
        r.advance(PUSH_BACKOFF_MS);
        failing = false;
        await r.store.save(target, state("Progressing"));
        assert.deepStrictEqual(r.pushed, ["Progressing", "Failed", "Progressing"]);
        assert.strictEqual(r.lines.at(-1), "release metrics: pushing to http://pg:9091 works again");
        assert.deepStrictEqual(r.saved, ["Progressing", "Progressing", "Failed", "Progressing"], "every state was saved");
    });
});
