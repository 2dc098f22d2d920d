// MetricProvider seam: where a query runs. What a query is lives in templates.ts.

/**
 * The outcome of one query. Never a bare number: no data, NaN, a query error and an
 * unreachable server are all distinct failures that the analysis treats as failed checks.
 */
export type QueryResult =
    | { readonly ok: true; readonly value: number }
    | { readonly ok: false; readonly reason: "no-data" | "nan" | "query-error" | "timeout" | "unreachable"; readonly message: string };

export interface MetricProvider {
    /** Instant query evaluated now; the result must hold exactly one sample. */
    query(promql: string): Promise<QueryResult>;
}
