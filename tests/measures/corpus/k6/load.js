// A short k6 run for the external-evidence corpus (scripts/evidence_corpus.sh), against python's http.server on
// 127.0.0.1 (BASE_URL). About one iteration in six also asks for a page that does not exist: the 404 counts in
// http_req_failed (k6 expects 200-399) and fails its check, so the error rate is neither 0 nor a round figure.
import http from "k6/http";
import { check, sleep } from "k6";

export const options = { vus: 4, duration: "4s" };

const base = __ENV.BASE_URL;

export default function () {
  const page = http.get(`${base}/index.html`);
  check(page, { "index answers 200": (r) => r.status === 200 });
  if (Math.random() < 1 / 6) {
    const missing = http.get(`${base}/missing.html`);
    check(missing, { "missing page answers 200": (r) => r.status === 200 });
  }
  sleep(0.05);
}
