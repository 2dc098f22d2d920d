// The plain-NGINX router against a real NGINX and two app processes: weights split real
// requests exactly, weight 0 sends the canary nothing, A/B matches send matching requests to
// the canary, getRoutes reads back what the running workers serve.
import * as assert from "assert";
import { Target } from "../../components/canary/engine/types";
import { AppInstance } from "./harness/app";
import { NginxServer } from "./harness/nginx";
import { httpGet, tempDir } from "./harness/process";
import { PlainNginxRouter } from "./nginx-router";
import * as fs from "fs";

const target: Target = { name: "podinfo", namespace: "it-router" };

describe("integration: plain-NGINX router", function () {
    this.timeout(60000);
    let dir: string;
    let nginx: NginxServer;
    let primary: AppInstance;
    let canary: AppInstance;
    let router: PlainNginxRouter;

    before(async function () {
        dir = tempDir("router");
        nginx = await NginxServer.create(dir);
        primary = await AppInstance.create("podinfo-primary", "1.0.0");
        canary = await AppInstance.create("podinfo-canary", "2.0.0");
        await Promise.all([primary.start(), canary.start()]);
        router = new PlainNginxRouter(nginx, target, { primary: primary.port, canary: canary.port });
    });

    after(async function () {
        await Promise.allSettled([nginx?.stop(), primary?.stop(), canary?.stop()]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Versions answering n sequential requests through NGINX, counted. */
    async function versions(n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
        const seen: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
            const r = await httpGet(`${nginx.url}/`, headers);
            assert.strictEqual(r.status, 200, r.body);
            const v = (JSON.parse(r.body) as { version: string }).version;
            seen[v] = (seen[v] ?? 0) + 1;
        }
        return seen;
    }

    it("starts with all traffic on the primary; weight 0 sends the canary nothing", async function () {
        await router.reconcile(target, [{ headers: { "x-canary": { exact: "insider" } } }, { cookie: "canary" }]);
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0 });
        assert.deepStrictEqual(await versions(50), { "1.0.0": 50 });
        // the match is not active until routes ask for it
        assert.deepStrictEqual(await versions(10, { "x-canary": "insider" }), { "1.0.0": 10 });
    });

    it("splits real requests by weight, exactly per 100 with one worker", async function () {
        await router.setRoutes(target, { primary: 70, canary: 30 });
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 70, canary: 30 });
        assert.deepStrictEqual(await versions(100), { "1.0.0": 70, "2.0.0": 30 });
        await router.setRoutes(target, { primary: 0, canary: 100 });
        assert.deepStrictEqual(await versions(20), { "2.0.0": 20 });
    });

    it("A/B: header and cookie matches go to the canary, everything else by weight", async function () {
        await router.setRoutes(target, { primary: 100, canary: 0, match: true });
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0, match: true });
        assert.deepStrictEqual(await versions(10, { "x-canary": "insider" }), { "2.0.0": 10 });
        assert.deepStrictEqual(await versions(10, { cookie: "canary=always" }), { "2.0.0": 10 });
        assert.deepStrictEqual(await versions(10, { "x-canary": "insider-not" }), { "1.0.0": 10 });
        assert.deepStrictEqual(await versions(10, { cookie: "canary=never" }), { "1.0.0": 10 });
        assert.deepStrictEqual(await versions(10), { "1.0.0": 10 });
    });

    it("rejects weights that do not sum to 100 before touching NGINX", async function () {
        await assert.rejects(router.setRoutes(target, { primary: 60, canary: 30 }), /summing to 100, got primary 60 canary 30/);
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0, match: true });
    });

    it("finalize routes everything to the primary and drops the match", async function () {
        await router.finalize(target);
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0 });
        assert.deepStrictEqual(await versions(10, { "x-canary": "insider" }), { "1.0.0": 10 });
        const conf = fs.readFileSync(nginx.confPath, "utf8");
        assert.ok(!conf.includes(`127.0.0.1:${canary.port} weight=`), "canary still in the weighted upstream");
    });
});
