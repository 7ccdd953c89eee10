// The same run as load.js, but k6 hands its summary to handleSummary, which writes it as JSON (the shape a
// custom summary receives: each metric's figures under "values", a rate metric's share under "rate").
export { default, options } from "./load.js";

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON]: JSON.stringify(data, null, 1) };
}
