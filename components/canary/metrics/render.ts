// The one strict renderer for metric query templates (Flagger syntax, observers/render.go).
//
// Placeholders: {{ namespace }}, {{ target }}, {{ service }}, {{ ingress }}, {{ interval }}
// and {{ variables.NAME }}. Anything else between {{ and }} is an error, a placeholder whose
// value is not set is an error naming it, and every substituted value is escaped as the
// content of a double-quoted PromQL string literal, so a label value can never end the
// string and inject a selector. The interval must be a Prometheus duration.

/** Values a template can refer to. */
export interface TemplateContext {
    /** Namespace of the app. */
    readonly namespace: string;
    /** The workload under analysis: the canary Deployment, `<app>-canary`. */
    readonly target: string;
    /** The apex Service, `<app>`. */
    readonly service: string;
    /** The app's Ingress (NGINX only); a template that uses it without one is an error. */
    readonly ingress?: string;
    /** Range of the window, a Prometheus duration such as "1m" or "30s". */
    readonly interval: string;
    /** User variables, `{{ variables.NAME }}`. */
    readonly variables: Readonly<Record<string, string>>;
}

const BUILTIN_NAMES = ["namespace", "target", "service", "ingress", "interval"] as const;
type BuiltinName = (typeof BUILTIN_NAMES)[number];

// Any {{ ... }}; the content is checked by hand to give a precise error.
const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;
const VARIABLE = /^variables\.([A-Za-z_][A-Za-z0-9_]*)$/;

// Prometheus' duration syntax (model.ParseDuration): units in decreasing order, each once.
const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 24 * 3600e3, 7 * 24 * 3600e3, 24 * 3600e3, 3600e3, 60e3, 1e3, 1];

/** Milliseconds of a Prometheus duration; throws on anything else, and on zero. */
export function parsePromDuration(s: string): number {
    const m = PROM_DURATION.exec(s);
    if (s === "" || m === null) {
        throw new Error(`interval "${s}" is not a Prometheus duration (e.g. "30s", "1m", "1h30m")`);
    }
    const ms = UNIT_MS.reduce((sum, unit, i) => sum + (m[i + 1] === undefined ? 0 : Number(m[i + 1]) * unit), 0);
    if (ms <= 0) {
        throw new Error(`interval "${s}" must be greater than zero`);
    }
    return ms;
}

/** Escapes a value for use inside a double-quoted PromQL string literal. */
export function escapePromString(value: string): string {
    return value
        .replace(/\\/g, "\\\\")
        .replace(/"/g, '\\"')
        .replace(/\n/g, "\\n")
        .replace(/\r/g, "\\r");
}

/**
 * Renders a query template. Throws on an unknown placeholder, an unset value (naming it and
 * the variables that are set), an unclosed `{{`, and an interval that is not a duration (checked even when unused).
 */
export function render(template: string, ctx: TemplateContext): string {
    parsePromDuration(ctx.interval);
    const stripped = template.replace(PLACEHOLDER, "");
    const unclosed = stripped.indexOf("{{");
    if (unclosed >= 0) {
        throw new Error(`unclosed "{{" in query template near ${JSON.stringify(stripped.slice(unclosed, unclosed + 40))}`);
    }
    return template = template.replace(PLACEHOLDER, (_whole, inner: string) => {
        const name = inner.trim();
        const variable = VARIABLE.exec(name);
        if (variable !== null) {
            const value = Object.prototype.hasOwnProperty.call(ctx.variables, variable[1])
                ? ctx.variables[variable[1]]
                : undefined;
            if (value === undefined) {
                const known = Object.keys(ctx.variables).sort();
                throw new Error(`template variable "${name}" is not defined` +
                    ` (defined: ${known.length === 0 ? "none" : known.join(", ")})`);
            }
            return escapePromString(value);
        }
        if (!(BUILTIN_NAMES as readonly string[]).includes(name)) {
            throw new Error(`unknown template placeholder "{{${inner}}}"; expected one of ` +
                `${BUILTIN_NAMES.map((n) => `{{ ${n} }}`).join(", ")} or {{ variables.NAME }}`);
        }
        const value = ctx[name as BuiltinName];
        if (value === undefined || value === "") {
            throw new Error(`template placeholder "{{ ${name} }}" has no value` +
                (name === "ingress" ? " (only the nginx provider sets an ingress)" : ""));
        }
        return escapePromString(value);
    });
}
