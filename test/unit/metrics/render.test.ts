import * as assert from "assert";
import { escapePromString, parsePromDuration, render, TemplateContext } from "../../../components/canary/metrics/render";

const ctx: TemplateContext = {
    namespace: "test",
    target: "podinfo-canary",
    service: "podinfo",
    ingress: "podinfo",
    interval: "1m",
    variables: { path: "/api", quantile: "0.95" },
};

describe("metrics/render", () => {
    it("fills every builtin placeholder and user variables, with or without spaces", () => {
        const out = render(
            'sum(rate(x{ns="{{ namespace }}",w="{{target}}",s="{{  service  }}",i="{{ ingress }}",p="{{ variables.path }}"}[{{ interval }}])) > {{variables.quantile}}',
            ctx);
        assert.strictEqual(out, 'sum(rate(x{ns="test",w="podinfo-canary",s="podinfo",i="podinfo",p="/api"}[1m])) > 0.95');
    });

    it("throws naming a missing user variable and the defined ones", () => {
        assert.throws(() => render('x{a="{{ variables.nope }}"}', ctx),
            /template variable "variables.nope" is not defined \(defined: path, quantile\)/);
        assert.throws(() => render('x{a="{{ variables.nope }}"}', { ...ctx, variables: {} }), /\(defined: none\)/);
    });

    it("does not resolve variables through the prototype", () => {
        assert.throws(() => render("{{ variables.toString }}", ctx), /"variables.toString" is not defined/);
    });

    it("throws on an unknown placeholder, naming it", () => {
        assert.throws(() => render("{{ name }}", ctx), /unknown template placeholder "\{\{ name \}\}"/);
        assert.throws(() => render("{{ .Namespace }}", ctx), /unknown template placeholder/);
    });

    it("throws when ingress is used but not set", () => {
        assert.throws(() => render('i="{{ ingress }}"', { ...ctx, ingress: undefined }),
            /"\{\{ ingress \}\}" has no value \(only the nginx provider sets an ingress\)/);
    });

    it("throws on an unclosed placeholder", () => {
        assert.throws(() => render('x{a="{{ namespace"}', ctx), /unclosed "\{\{"/);
    });

    it("escapes values for PromQL double-quoted strings", () => {
        const out = render('x{a="{{ variables.v }}"}', { ...ctx, variables: { v: 'a"b\\c\nd' } });
        assert.strictEqual(out, 'x{a="a\\"b\\\\c\\nd"}');
        // a value cannot close the string and add a matcher
        const evil = render('x{a="{{ variables.v }}"}', { ...ctx, variables: { v: '", b=~".*' } });
        assert.strictEqual(evil, 'x{a="\\", b=~\\".*"}');
        assert.strictEqual(escapePromString("plain-value_1.2"), "plain-value_1.2");
    });

    it("does not re-expand placeholders that come from values", () => {
        const out = render('x{a="{{ variables.v }}"}', { ...ctx, variables: { v: "{{ namespace }}" } });
        assert.strictEqual(out, 'x{a="{{ namespace }}"}');
    });

    it("validates the interval as a Prometheus duration, even when unused", () => {
        for (const bad of ["", "1 m", "60", "1.5m", "1s1m", "-1m", "0s", "1m; drop"]) {
            assert.throws(() => render("vector(1)", { ...ctx, interval: bad }), /interval/, bad);
        }
        assert.strictEqual(render("[{{ interval }}]", { ...ctx, interval: "1h30m" }), "[1h30m]");
    });

    it("parses Prometheus durations to milliseconds", () => {
        assert.strictEqual(parsePromDuration("30s"), 30000);
        assert.strictEqual(parsePromDuration("1m30s"), 90000);
        assert.strictEqual(parsePromDuration("1d"), 86400000);
        assert.strictEqual(parsePromDuration("500ms"), 500);
        assert.strictEqual(parsePromDuration("1w"), 7 * 86400000);
    });
});
