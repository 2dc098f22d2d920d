// checkMetric for the ReleaseContext: render (strict) + PrometheusProvider + assess.
// Never throws: a template error is a failed check naming it.
import { CheckResult } from "../../components/canary/engine/advance";
import { MetricCheck, Target } from "../../components/canary/engine/types";
import { assess } from "../../components/canary/metrics/assess";
import { MetricProvider } from "../../components/canary/metrics/provider";
import { MeshProvider, renderCheck } from "../../components/canary/metrics/templates";

export interface CheckRecord {
    readonly check: string;
    readonly promql: string;
    readonly result: CheckResult;
    readonly at: number;
}

export function metricChecker(provider: MetricProvider, mesh: MeshProvider, target: Target, ingress: string | undefined, log: CheckRecord[]): (check: MetricCheck) => Promise<CheckResult> {
    return async (check) => {
        let promql: string;
        try {
            promql = renderCheck(check, mesh, target, ingress);
        } catch (e) {
            const result = { pass: false, message: `Halt ${target.name}.${target.namespace} advancement ${e instanceof Error ? e.message : String(e)}` };
            log.push({ check: check.name, promql: "", result, at: Date.now() });
            return result;
        }
        const result = assess(check, await provider.query(promql), target);
        log.push({ check: check.name, promql, result, at: Date.now() });
        return result;
    };
}
