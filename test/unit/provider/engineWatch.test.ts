import * as assert from "assert";
import { PassThrough } from "stream";
import { EngineWatch, engineWatch } from "../../../components/canary/provider/engineWatch";

/** Lets the stream deliver its 'end'. */
const settle = () => new Promise((r) => setImmediate(r));

describe("EngineWatch: a provider orphaned by its CLI stops its release, then exits", function () {
    it("calls every registered handler at end of stdin, and exits when the last one unregisters", async function () {
        const stdin = new PassThrough();
        let exits = 0;
        const w = new EngineWatch(stdin, () => exits++);
        const calls: string[] = [];
        const unA = w.watch(() => calls.push("a"));
        const unB = w.watch(() => calls.push("b"));
        stdin.end();
        await settle();
        assert.deepStrictEqual(calls, ["a", "b"]);
        assert.strictEqual(exits, 0, "exited before the releases cleaned up");
        unA();
        assert.strictEqual(exits, 0);
        unB();
        assert.strictEqual(exits, 1);
    });

    it("exits at once when no release is running", async function () {
        const stdin = new PassThrough();
        let exits = 0;
        new EngineWatch(stdin, () => exits++);
        stdin.end();
        await settle();
        assert.strictEqual(exits, 1);
    });

    it("a stdin error counts as the engine gone; a release that ended before does not fire", async function () {
        const stdin = new PassThrough();
        let exits = 0;
        const w = new EngineWatch(stdin, () => exits++);
        let fired = 0;
        w.watch(() => fired++)(); // registered and unregistered: a release that finished
        const un = w.watch(() => fired++);
        stdin.destroy(new Error("EPIPE"));
        await settle();
        assert.strictEqual(fired, 1);
        un();
        assert.strictEqual(exits, 1);
    });

    it("a release that starts after the engine is gone is aborted right away", async function () {
        const stdin = new PassThrough();
        let exits = 0;
        const w = new EngineWatch(stdin, () => exits++);
        const un0 = w.watch(() => undefined); // keeps the process up while it cleans up
        stdin.end();
        await settle();
        let fired = false;
        const un = w.watch(() => { fired = true; });
        assert.ok(fired);
        un0();
        assert.strictEqual(exits, 0);
        un();
        assert.strictEqual(exits, 1);
    });

    it("is off outside a Pulumi dynamic-provider process (this test's stdin is not the engine's)", function () {
        assert.strictEqual(engineWatch(), undefined);
    });
});
