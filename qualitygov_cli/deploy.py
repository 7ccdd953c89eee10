"""The deploy step's check (standard library only): may this release make its next move?

    qualitygov-cli deploy-check --release ID [--wait SECONDS]

Asks ``GET /api/v1/releases/{id}/verdict/`` and exits (metrics.md, "Decisions stay true to the evidence"):
0 when a go / go-with-waivers decision is in force at every gate guarding the release's next move (an unguarded
move is allowed); 1 when a no-go is in force, a decision is suspended, or a gate has no decision (and when the
release has no next move); 3 when no answer could be had (unknown release, bad token, server unreachable).

``--wait SECONDS`` waits out a pending re-evaluation (new evidence whose live re-evaluation has not landed yet) for
up to SECONDS, polling, before judging; it also retries an unreachable server or a 5xx answer for that long.
Without it, the check judges what stands now and says when a re-evaluation is pending.
"""

import sys
import time

from .main import EXIT_FAILED, EXIT_NO_EVALUATION, EXIT_PASSED, ApiError, _request, _with_retries

POLL_SECONDS = 2.0


def _verdict(base: str, token: str, release: int, *, wait: float, err) -> dict:
    url = f"{base}/api/v1/releases/{release}/verdict/"
    return _with_retries(lambda: _request("GET", url, token=token), wait=wait, out=err)


def describe(verdict: dict) -> list[str]:
    """One line per current gate: name, latest evaluation (stale or not), decision and its state."""
    lines = []
    for g in verdict.get("gates", []):
        e, d = g.get("evaluation"), g.get("decision")
        evaluation = "not evaluated" if e is None else e["status"] + (" (stale)" if e.get("stale") else "")
        if d is None:
            decision = "no decision"
        else:
            decision = f"{d['kind']} by {d['by']}" + (
                f", SUSPENDED: {d['suspension']['detail']}" if d.get("suspended") else ""
            )
        lines.append(f"  {g['gate_name']}: evaluation {evaluation}; {decision}; {g['state']}")
    return lines


def deploy_check(args, *, base: str, token: str, out=sys.stdout, err=sys.stderr) -> int:
    deadline = time.monotonic() + max(0.0, args.wait)
    try:
        verdict = _verdict(base, token, args.release, wait=args.wait, err=err)
        while verdict.get("pending") and time.monotonic() < deadline:
            print("qualitygov-cli: a re-evaluation is pending; waiting", file=err)
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            verdict = _verdict(base, token, args.release, wait=max(0.0, deadline - time.monotonic()), err=err)
    except ApiError as exc:
        print(f"qualitygov-cli: no verdict could be had: {exc}", file=err)
        return EXIT_NO_EVALUATION
    if "may_move" not in verdict:
        print("qualitygov-cli: the answer has no verdict", file=err)
        return EXIT_NO_EVALUATION
    move = f"{verdict.get('status')} -> {verdict.get('next_status') or 'nothing'}"
    print(f"Release {verdict.get('version')} ({args.release}), next move {move}:", file=out)
    for line in describe(verdict) or ["  no gate guards this move"]:
        print(line, file=out)
    if verdict.get("pending"):
        print(
            "Note: a re-evaluation is pending (newer evidence exists); use --wait SECONDS to wait it out.",
            file=out,
        )
    if verdict["may_move"]:
        print("DEPLOY ALLOWED: a go decision is in force at every gate guarding the move.", file=out)
        return EXIT_PASSED
    print(f"DEPLOY REFUSED: {verdict.get('reason') or 'no go decision in force'}", file=out)
    return EXIT_FAILED


def decision_note(base: str, token: str, *, release: int, gate: int) -> str:
    """For gate-check: one line on the decision in force at the gate (it does not change gate-check's exit
    code, which follows the evaluation), or an empty string when the verdict cannot be had."""
    try:
        v = _request(
            "GET", f"{base}/api/v1/releases/{release}/gates/{gate}/verdict/", token=token, timeout=15
        )
    except ApiError:
        return ""
    d = v.get("decision")
    if d is None:
        return "Decision: none recorded; deploy-check refuses the move this gate guards."
    state = {"in_force": "in force", "no_go": "no-go in force", "suspended": "suspended"}.get(
        v.get("state"), ""
    )
    tail = "deploy-check allows it" if v.get("permits") else "deploy-check refuses"
    why = f" ({v['reason']})" if v.get("reason") else ""
    return f"Decision: {d['kind']} by {d['by']}, {state}{why}; {tail}."


def add_parser(sub, common) -> None:
    p = sub.add_parser(
        "deploy-check",
        parents=[common],
        help="Before deploying: exit 0 only when a go decision is in force at every gate guarding the next move.",
    )
    p.add_argument("--release", type=int, required=True)
    p.add_argument(
        "--wait",
        type=float,
        default=0,
        help="Wait up to SECONDS for a pending re-evaluation (and retry while the server is down/5xx).",
    )
    p.set_defaults(handler=deploy_check)
